#!/usr/bin/env bash
# Prepares everything the QEMU integration suite needs, idempotently:
#  1. host tools from Debian (qemu-system-x86, busybox-static, kmod, cpio, tshark, sg3-utils, chromium), installed only if missing;
#  2. the guest kernel: the package the `linux-image-amd64` metapackage currently depends on, fetched with
#     `apt-get download` and unpacked with `dpkg-deb -x` into test/hil/.cache (never installed on the host);
#  3. a small initramfs: static busybox, the kernel modules the guest needs (with their dependencies from
#     modules.dep) and test/hil/guest/init.
# A second run with nothing changed only checks stamps (well under a second).
# Output: prints the paths of kernel and initramfs; test/hil/.cache/guest.env holds them for the runner.
set -euo pipefail

HIL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${HIL_CACHE_DIR:-$HIL_DIR/.cache}"
mkdir -p "$CACHE"

log() { printf '[hil-setup] %s\n' "$*" >&2; }
die() { printf '[hil-setup] ERROR: %s\n' "$*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
}

# --- 1. host tools -----------------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
is_static_busybox() {
  # ldd exits non-zero on a static binary; look at its text only (pipefail is on).
  local out
  [ -x /bin/busybox ] || return 1
  out="$(ldd /bin/busybox 2>&1 || true)"
  case "$out" in *"not a dynamic"*) return 0 ;; *) return 1 ;; esac
}
is_static_busybox || need_pkgs+=(busybox-static)
command -v depmod >/dev/null 2>&1 || need_pkgs+=(kmod)
command -v cpio >/dev/null 2>&1 || need_pkgs+=(cpio)
# The SAT suite: the recording gadget (guest/bot-gadget.py) runs on the host's python3 inside the guest, and
# smartctl is the reference it is compared with. Minimal Debian images have neither.
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v smartctl >/dev/null 2>&1 || need_pkgs+=(smartmontools)
# tshark: the kernel's usbmon capture in the guest (the host root is the guest's) and dissection on the host.
command -v tshark >/dev/null 2>&1 || need_pkgs+=(tshark)
# sg_raw: the kernel path's exit codes for the CLI's fault comparison (cli-examples.test.ts).
command -v sg_raw >/dev/null 2>&1 || need_pkgs+=(sg3-utils)
# chromium: the device tool driving usbms serve in the guest (serve-browser.test.ts).
[ -x "${USBMS_CHROMIUM:-/usr/bin/chromium}" ] || need_pkgs+=(chromium)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_pkgs[*]} and not root; run as root, then try again: apt-get update && apt-get install -y --no-install-recommends ${need_pkgs[*]}"
  apt_update_once
  log "apt-get install ${need_pkgs[*]}"
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi
BUSYBOX=/bin/busybox
is_static_busybox || die "$BUSYBOX is not the static busybox (install busybox-static)"

# --- 2. guest kernel -----------------------------------------------------------------------------------
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
KPKG="$(kernel_pkg || true)"
if [ -z "$KPKG" ]; then
  apt_update_once
  KPKG="$(kernel_pkg || true)"
fi
[ -n "$KPKG" ] || die "cannot find which kernel package linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
KVER="${KPKG#linux-image-}"
KROOT="$CACHE/kernel/$KPKG"
if [ ! -f "$KROOT/.complete" ]; then
  log "fetching guest kernel $KPKG"
  rm -rf "$KROOT" "$CACHE/deb"
  mkdir -p "$CACHE/deb" "$KROOT"
  # _apt cannot write into a root-owned cache folder; download as root (no sandbox) on purpose.
  (cd "$CACHE/deb" && apt-get download -o APT::Sandbox::User=root "$KPKG" >&2) || {
    apt_update_once
    (cd "$CACHE/deb" && apt-get download -o APT::Sandbox::User=root "$KPKG" >&2) || die "apt-get download $KPKG failed"
  }
  dpkg-deb -x "$CACHE"/deb/"$KPKG"_*.deb "$KROOT"
  [ -f "$KROOT/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $KPKG"
  # The package leaves modules.dep to its postinst; generate it for our copy.
  depmod -b "$KROOT" "$KVER"
  rm -rf "$CACHE/deb"
  touch "$KROOT/.complete"
fi
VMLINUZ="$KROOT/boot/vmlinuz-$KVER"
MODDIR="$KROOT/lib/modules/$KVER"

# --- 3. initramfs ---------------------------------------------------------------------------------------
# Modules the guest loads (the init script loads them by name with busybox modprobe): 9p root over virtio,
# overlayfs for a writable root, SCSI disk + sg, both USB storage drivers, both host controllers, and the
# gadget stack (dummy_hcd + configfs + f_mass_storage, FunctionFS for the recording gadget) for the Linux
# gadget profiles, AHCI/libata for the SAT profile's ATA disk, ums-cypress for the bridge profile (usb-storage
# leaves the Cypress ATACB bridge 04b4:6830 to it); usbmon for the kernel's own capture of a run
# (test/hil/capture.test.ts compares it with usbms's --pcap); virtio_net for a service in the guest that
# the host reaches through a forwarded port (serve-browser.test.ts).
MODULES=(
  virtio_pci 9pnet_virtio 9p overlay
  scsi_mod sd_mod sg usb-storage uas
  xhci-pci ehci-pci
  configfs libcomposite usb_f_mass_storage dummy_hcd usb_f_fs
  ahci ums-cypress
  usbmon
  virtio_net
  crct10dif_generic crc64_rocksoft_generic
)
INIT_SRC="$HIL_DIR/guest/init"
[ -f "$INIT_SRC" ] || die "missing $INIT_SRC"
# Contents only (not paths): the script is invoked by relative and absolute paths.
STAMP_WANT="$( (echo "$KPKG"; echo "${MODULES[*]}"; cat "$INIT_SRC" "${BASH_SOURCE[0]}" "$BUSYBOX") | sha256sum | cut -c1-16)"
INITRD="$CACHE/initramfs-$KVER.cpio"
if [ ! -f "$INITRD" ] || [ "$(cat "$CACHE/initramfs.stamp" 2>/dev/null)" != "$STAMP_WANT" ]; then
  log "building initramfs for $KVER"
  STAGE="$CACHE/initramfs-stage"
  rm -rf "$STAGE"
  mkdir -p "$STAGE"/{bin,dev,proc,sys,lower,upper,newroot,etc,lib/modules/"$KVER"}
  cp "$BUSYBOX" "$STAGE/bin/busybox"
  cp "$INIT_SRC" "$STAGE/init"
  chmod 755 "$STAGE/init" "$STAGE/bin/busybox"
  # Resolve each module and its dependencies (modules.dep lists them; paths relative to MODDIR).
  declare -A seen=()
  for m in "${MODULES[@]}"; do
    path="$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }')" || true
    if [ -z "$path" ]; then
      if grep -q "/${m//_/[-_]}\.ko" "$MODDIR/modules.builtin" 2>/dev/null; then continue; fi
      die "kernel module $m not found in $KPKG"
    fi
    for p in $path; do
      rel="${p#"$MODDIR"/}"
      [ -n "${seen[$rel]:-}" ] && continue
      seen[$rel]=1
      mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$rel")"
      cp "$p" "$STAGE/lib/modules/$KVER/$rel"
    done
  done
  cp "$MODDIR"/modules.builtin "$MODDIR"/modules.order "$STAGE/lib/modules/$KVER/"
  [ -f "$MODDIR/modules.builtin.modinfo" ] && cp "$MODDIR/modules.builtin.modinfo" "$STAGE/lib/modules/$KVER/"
  depmod -b "$STAGE" "$KVER"
  (cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet) > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$STAGE"
  echo "$STAMP_WANT" > "$CACHE/initramfs.stamp"
  log "initramfs: $INITRD ($(du -h "$INITRD" | cut -f1), ${#seen[@]} modules)"
fi

QEMU="$(command -v qemu-system-x86_64)"
cat > "$CACHE/guest.env.tmp" <<EOF
HIL_KERNEL=$VMLINUZ
HIL_INITRD=$INITRD
HIL_KERNEL_VERSION=$KVER
HIL_QEMU=$QEMU
EOF
mv "$CACHE/guest.env.tmp" "$CACHE/guest.env"
cat "$CACHE/guest.env"
