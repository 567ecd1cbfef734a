// Named device profiles: which emulated USB mass-storage device the guest gets, how QEMU attaches it
// (or how the guest builds it, for the Linux gadget), and what the tests should expect to find.
// One profile per boot: dummy_hcd's speed is a module parameter, and a fresh guest per device keeps the
// kernel driver state of one scenario from leaking into the next.

import { fileURLToPath } from 'node:url';

export type ProfileName = 'xhci-storage' | 'ehci-storage' | 'bot-2lun' | 'uas' | 'gadget-hs' | 'gadget-ss';

/** A raw image file the runner creates (sparse) in the job folder before boot. */
export interface DriveSpec {
  /** QEMU block node id (`-drive id=`), also what `query-blockstats` reports as `device`. */
  id: string;
  sizeMiB: number;
}

export interface ExpectedDevice {
  vendorId: number;
  productId: number;
  serial: string;
  speed: 'high' | 'super';
  /** Interface class/subclass/protocol of the mass-storage interface. */
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  /** Max packet size of the bulk endpoints (512 high speed, 1024 SuperSpeed). */
  bulkPacketSize: number;
  /** Logical units behind the interface (Get Max LUN + 1). */
  luns: number;
  /** Bytes per LUN as the device reports them (READ CAPACITY). */
  lunBytes: number;
  vendor: string;
  /** VPD page 0x80 (unit serial number) per LUN, where the device supports VPD. */
  lunSerials?: string[];
  /** QEMU qdev id of the USB device, for `device_del`; absent for the in-guest gadget. */
  qdevId?: string;
  /** QEMU drive ids, one per LUN, for `query-blockstats`; absent for the gadget. */
  driveIds?: string[];
}

export interface Profile {
  /** 'none' only for NO_DEVICES (the preflight boot); 'sat-gadget' (sat.test.ts), 'bridge-gadget' (bridges.test.ts), 'readme-gadget' (cli-examples.test.ts). */
  name: ProfileName | 'none' | 'sat-gadget' | 'bridge-gadget' | 'readme-gadget';
  description: string;
  /** 'bot' devices get the full scenario suite; 'uas' must be listed and refused. */
  transport: 'bot' | 'uas';
  implementation: 'qemu' | 'linux-gadget';
  drives: DriveSpec[];
  /** QEMU arguments attaching the device(s); `image(id)` is the host path of a drive's raw file. */
  qemuArgs(image: (id: string) => string): string[];
  /** Also drive the `usbms` CLI against this device (one device per implementation keeps the suite short). */
  cli: boolean;
  /** Extra guest setup (busybox sh, runs in the initramfs before the command; NEWROOT is the root). */
  guestSetup: string;
  /** How many USB interfaces of class 0x08 and SCSI disks the guest must see before the command runs. */
  waitFor: { massStorageInterfaces: number; disks: number };
  expect: ExpectedDevice;
}

const MiB = 1024 * 1024;
const QEMU_VID = 0x46f4; // QEMU's usb-storage/usb-bot/usb-uas vendor id (hw/usb/dev-storage.c)
const QEMU_STORAGE_PID = 0x0001;
// The Linux gadget uses the NetChip/"Linux-USB File-backed Storage Gadget" ids, as g_mass_storage does.
const GADGET_VID = 0x0525;
const GADGET_PID = 0xa4a5;

export const DRIVE_MIB = 64;

/** Loads dummy_hcd at `speed`, libcomposite and `modules` (the function's and any other), and mounts configfs. */
function gadgetModules(speed: 'high' | 'super', modules: readonly string[]): string {
  return [
    `modprobe dummy_hcd ${speed === 'super' ? 'is_super_speed=1' : 'is_high_speed=1'}`,
    'modprobe libcomposite',
    ...modules.map((m) => `modprobe ${m}`),
    'mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config',
  ].join('\n');
}

/** Creates the configfs gadget `$G` with its IDs and strings, and its configuration c.1 named `configuration`. */
function gadgetDevice(
  ids: { vendorId: number; productId: number; serial: string },
  strings: { product: string; configuration: string },
  bcdDevice?: number,
): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
  return `mkdir -p "$G/strings/0x409" "$G/configs/c.1/strings/0x409"
echo ${hex(ids.vendorId)} > "$G/idVendor"
echo ${hex(ids.productId)} > "$G/idProduct"
${bcdDevice === undefined ? '' : `echo ${hex(bcdDevice)} > "$G/bcdDevice"\n`}echo "${ids.serial}" > "$G/strings/0x409/serialnumber"
echo "usbms HIL" > "$G/strings/0x409/manufacturer"
echo "${strings.product}" > "$G/strings/0x409/product"
echo "${strings.configuration}" > "$G/configs/c.1/strings/0x409/configuration"`;
}

/** Builds the f_mass_storage gadget through configfs (libcomposite), backed by a file on the guest tmpfs. */
function gadgetSetup(superSpeed: boolean, serial: string): string {
  return `
set -e
${gadgetModules(superSpeed ? 'super' : 'high', ['usb_f_mass_storage'])}
IMG="$NEWROOT/tmp/hil-gadget.img"
dd if=/dev/zero of="$IMG" bs=1M count=0 seek=${DRIVE_MIB} 2>/dev/null
G=/sys/kernel/config/usb_gadget/hil
${gadgetDevice({ vendorId: GADGET_VID, productId: GADGET_PID, serial }, { product: 'File-Stor Gadget', configuration: 'mass storage' }, 0x0100)}
echo 100 > "$G/configs/c.1/MaxPower"
mkdir -p "$G/functions/mass_storage.0"
# A fixed, writable disk (not removable media, not a CD-ROM).
echo 0 > "$G/functions/mass_storage.0/lun.0/removable"
echo 0 > "$G/functions/mass_storage.0/lun.0/cdrom"
echo 0 > "$G/functions/mass_storage.0/lun.0/ro"
echo "$IMG" > "$G/functions/mass_storage.0/lun.0/file"
ln -s "$G/functions/mass_storage.0" "$G/configs/c.1/"
echo dummy_udc.0 > "$G/UDC"
# The command runs in a chroot with its own /sys mount: give it configfs too (hot-unplug = unbind UDC).
mount -t configfs none "$NEWROOT/sys/kernel/config"
`;
}

const qemuStorage =
  (controller: 'qemu-xhci' | 'usb-ehci', serial: string): Profile['qemuArgs'] =>
  (image) => [
    '-device',
    `${controller},id=hc`,
    '-drive',
    `if=none,id=drive0,file=${image('drive0')},format=raw,cache=writeback`,
    '-device',
    `usb-storage,bus=hc.0,drive=drive0,serial=${serial},id=msd0`,
  ];

export const PROFILES: Record<ProfileName, Profile> = {
  'xhci-storage': {
    name: 'xhci-storage',
    description: 'QEMU usb-storage (BOT) on qemu-xhci, SuperSpeed',
    transport: 'bot',
    implementation: 'qemu',
    drives: [{ id: 'drive0', sizeMiB: DRIVE_MIB }],
    qemuArgs: qemuStorage('qemu-xhci', 'HIL-XHCI-0001'),
    cli: true,
    guestSetup: '',
    waitFor: { massStorageInterfaces: 1, disks: 1 },
    expect: {
      vendorId: QEMU_VID,
      productId: QEMU_STORAGE_PID,
      serial: 'HIL-XHCI-0001',
      speed: 'super',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      bulkPacketSize: 1024,
      luns: 1,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'QEMU',
      lunSerials: ['HIL-XHCI-0001'],
      qdevId: 'msd0',
      driveIds: ['drive0'],
    },
  },
  'ehci-storage': {
    name: 'ehci-storage',
    description: 'QEMU usb-storage (BOT) on usb-ehci, high speed',
    transport: 'bot',
    implementation: 'qemu',
    drives: [{ id: 'drive0', sizeMiB: DRIVE_MIB }],
    qemuArgs: qemuStorage('usb-ehci', 'HIL-EHCI-0001'),
    cli: false,
    guestSetup: '',
    waitFor: { massStorageInterfaces: 1, disks: 1 },
    expect: {
      vendorId: QEMU_VID,
      productId: QEMU_STORAGE_PID,
      serial: 'HIL-EHCI-0001',
      speed: 'high',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      bulkPacketSize: 512,
      luns: 1,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'QEMU',
      lunSerials: ['HIL-EHCI-0001'],
      qdevId: 'msd0',
      driveIds: ['drive0'],
    },
  },
  'bot-2lun': {
    name: 'bot-2lun',
    description: 'QEMU usb-bot with two scsi-hd LUNs, on qemu-xhci',
    transport: 'bot',
    implementation: 'qemu',
    drives: [
      { id: 'drive0', sizeMiB: DRIVE_MIB },
      { id: 'drive1', sizeMiB: DRIVE_MIB / 2 },
    ],
    qemuArgs: (image) => [
      '-device',
      'qemu-xhci,id=hc',
      '-device',
      'usb-bot,bus=hc.0,serial=HIL-BOT-0002,id=bot0',
      '-drive',
      `if=none,id=drive0,file=${image('drive0')},format=raw,cache=writeback`,
      '-drive',
      `if=none,id=drive1,file=${image('drive1')},format=raw,cache=writeback`,
      '-device',
      'scsi-hd,bus=bot0.0,scsi-id=0,lun=0,drive=drive0,serial=HIL-LUN0',
      '-device',
      'scsi-hd,bus=bot0.0,scsi-id=0,lun=1,drive=drive1,serial=HIL-LUN1',
    ],
    cli: false,
    guestSetup: '',
    waitFor: { massStorageInterfaces: 1, disks: 2 },
    expect: {
      vendorId: QEMU_VID,
      productId: QEMU_STORAGE_PID,
      serial: 'HIL-BOT-0002',
      speed: 'super',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      bulkPacketSize: 1024,
      luns: 2,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'QEMU',
      lunSerials: ['HIL-LUN0', 'HIL-LUN1'],
      qdevId: 'bot0',
      driveIds: ['drive0', 'drive1'],
    },
  },
  uas: {
    name: 'uas',
    description: 'QEMU usb-uas (UAS only, no BOT alternate) on qemu-xhci',
    transport: 'uas',
    implementation: 'qemu',
    drives: [{ id: 'drive0', sizeMiB: DRIVE_MIB }],
    qemuArgs: (image) => [
      '-device',
      'qemu-xhci,id=hc',
      '-device',
      'usb-uas,bus=hc.0,serial=HIL-UAS-0001,id=uas0',
      '-drive',
      `if=none,id=drive0,file=${image('drive0')},format=raw,cache=writeback`,
      '-device',
      'scsi-hd,bus=uas0.0,scsi-id=0,lun=0,drive=drive0',
    ],
    cli: false,
    guestSetup: '',
    waitFor: { massStorageInterfaces: 1, disks: 1 },
    expect: {
      vendorId: QEMU_VID,
      productId: 0x0003,
      serial: 'HIL-UAS-0001',
      speed: 'super',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x62,
      bulkPacketSize: 1024,
      luns: 1,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'QEMU',
      qdevId: 'uas0',
      driveIds: ['drive0'],
    },
  },
  'gadget-hs': {
    name: 'gadget-hs',
    description: 'Linux f_mass_storage gadget on dummy_hcd, high speed',
    transport: 'bot',
    implementation: 'linux-gadget',
    drives: [],
    qemuArgs: () => [],
    cli: true,
    guestSetup: gadgetSetup(false, 'HIL-GADGET-HS'),
    waitFor: { massStorageInterfaces: 1, disks: 1 },
    expect: {
      vendorId: GADGET_VID,
      productId: GADGET_PID,
      serial: 'HIL-GADGET-HS',
      speed: 'high',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      bulkPacketSize: 512,
      luns: 1,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'Linux',
    },
  },
  'gadget-ss': {
    name: 'gadget-ss',
    description: 'Linux f_mass_storage gadget on dummy_hcd (is_super_speed=1), SuperSpeed',
    transport: 'bot',
    implementation: 'linux-gadget',
    drives: [],
    qemuArgs: () => [],
    cli: false,
    guestSetup: gadgetSetup(true, 'HIL-GADGET-SS'),
    waitFor: { massStorageInterfaces: 1, disks: 1 },
    expect: {
      vendorId: GADGET_VID,
      productId: GADGET_PID,
      serial: 'HIL-GADGET-SS',
      speed: 'super',
      interfaceClass: 0x08,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      bulkPacketSize: 1024,
      luns: 1,
      lunBytes: DRIVE_MIB * MiB,
      vendor: 'Linux',
    },
  },
};

/** The recording FunctionFS BOT gadget (guest/bot-gadget.py) of the SAT profile, and its ids. */
export const GADGET_SCRIPT = fileURLToPath(new URL('./guest/bot-gadget.py', import.meta.url));

export const SAT_GADGET_IDS = { vendorId: 0x1d6b, productId: 0x0104, serial: 'HIL-SAT-GADGET' } as const;
export const SAT_DISK = { model: 'HIL SAT DISK', serial: 'HILSAT0001', firmware: 'HIL1.0', sizeMiB: 64 } as const;

/**
 * Builds a configfs gadget with one FunctionFS function (usb_f_fs) on dummy_hcd (high speed) and starts the
 * recording BOT gadget in the chroot: it forwards every CDB through SG_IO to the libata disk (the QEMU
 * ide-hd on AHCI, /dev/sda), logging to $JOB/gadget.jsonl, then binds the UDC itself once its descriptors
 * are written.
 */
function satGadgetSetup(): string {
  return `
set -e
${gadgetModules('high', ['usb_f_fs', 'ahci'])}
# The ATA disk first: the gadget needs its sg node.
i=0
ATA=""
while [ -z "$ATA" ]; do
  for b in /sys/block/sd*; do
    [ -e "$b" ] || continue
    case "$(readlink -f "$b")" in */ata[0-9]*) ATA="$(basename "$b")" ;; esac
  done
  i=$((i+1)); [ $i -lt 600 ] || { echo "no libata disk appeared"; ls /sys/block; exit 1; }
  [ -n "$ATA" ] || sleep 0.1
done
SG="$(ls /sys/block/$ATA/device/scsi_generic)"
echo "libata disk: $ATA ($SG)"
G=/sys/kernel/config/usb_gadget/sat
${gadgetDevice(SAT_GADGET_IDS, { product: 'Recording BOT gadget (SG_IO)', configuration: 'bot' })}
mkdir -p "$G/functions/ffs.bot"
ln -s "$G/functions/ffs.bot" "$G/configs/c.1/"
mkdir -p "$NEWROOT/dev/ffs-bot"
mount -t functionfs bot "$NEWROOT/dev/ffs-bot"
mount -t configfs none "$NEWROOT/sys/kernel/config"
chroot "$NEWROOT" /usr/bin/python3 "${GADGET_SCRIPT}" --ffs /dev/ffs-bot --sg "/dev/$SG" \
  --log "$JOB/gadget.jsonl" --udc-file /sys/kernel/config/usb_gadget/sat/UDC --udc dummy_udc.0 \
  > "$NEWROOT$JOB/gadget.out" 2>&1 < /dev/null &
set +e
`;
}

/** QEMU ide-hd on an AHCI controller (libata in the guest) behind the recording SG_IO gadget. */
export const SAT_GADGET: Profile = {
  name: 'sat-gadget',
  description: 'recording FunctionFS BOT gadget (dummy_hcd, high speed) forwarding through SG_IO to a QEMU ide-hd on AHCI (libata)',
  transport: 'bot',
  implementation: 'linux-gadget',
  drives: [{ id: 'ide0', sizeMiB: SAT_DISK.sizeMiB }],
  qemuArgs: (image) => [
    '-device',
    'ahci,id=ahci0',
    '-drive',
    `if=none,id=ide0,file=${image('ide0')},format=raw,cache=writeback`,
    '-device',
    `ide-hd,drive=ide0,bus=ahci0.0,model=${SAT_DISK.model},serial=${SAT_DISK.serial},ver=${SAT_DISK.firmware}`,
  ],
  cli: true,
  guestSetup: satGadgetSetup(),
  // The gadget's interface, and two disks: the ATA disk and the gadget's USB disk.
  waitFor: { massStorageInterfaces: 1, disks: 2 },
  expect: {
    vendorId: SAT_GADGET_IDS.vendorId,
    productId: SAT_GADGET_IDS.productId,
    serial: SAT_GADGET_IDS.serial,
    speed: 'high',
    interfaceClass: 0x08,
    interfaceSubclass: 0x06,
    interfaceProtocol: 0x50,
    bulkPacketSize: 512,
    luns: 1,
    lunBytes: SAT_DISK.sizeMiB * MiB,
    vendor: 'ATA',
  },
};

/**
 * How many configfs gadgets the bridge profile builds: one per bridge kind, b0.. in `BRIDGE_KINDS` order
 * (bridges.test.ts checks the count; the summary reporter loads this file without the workspace packages).
 */
export const BRIDGE_GADGETS = 7;

/**
 * Builds BRIDGE_GADGETS configfs gadgets (usb_gadget/b0..b6), each with one FunctionFS function mounted at
 * $NEWROOT/dev/ffs-bN, on dummy_hcd (high speed), and loads ums-cypress: usb-storage leaves the Cypress
 * ATACB bridge (04b4:6830) to it (unusual_cypress.h), so without it nothing would bind. The guest script sets
 * each gadget's VID:PID and starts the recording gadget (guest/bot-gadget.py --sim) for one kind at a time.
 */
function bridgeGadgetSetup(): string {
  return `
set -e
${gadgetModules('high', ['usb_f_fs', 'ums-cypress'])}
mount -t configfs none "$NEWROOT/sys/kernel/config"
for i in ${Array.from({ length: BRIDGE_GADGETS }, (_, i) => i).join(' ')}; do
  G=/sys/kernel/config/usb_gadget/b$i
  mkdir -p "$G/strings/0x409" "$G/configs/c.1/strings/0x409" "$G/functions/ffs.b$i"
  echo "usbms HIL" > "$G/strings/0x409/manufacturer"
  echo "Recording BOT gadget (simulated bridge)" > "$G/strings/0x409/product"
  echo "bot" > "$G/configs/c.1/strings/0x409/configuration"
  ln -s "$G/functions/ffs.b$i" "$G/configs/c.1/"
  mkdir -p "$NEWROOT/dev/ffs-b$i"
  mount -t functionfs b$i "$NEWROOT/dev/ffs-b$i"
done
set +e
`;
}

/** The recording gadget in front of the simulator's bridge emulations, one kind after another (bridges.test.ts). */
export const BRIDGE_GADGET: Profile = {
  name: 'bridge-gadget',
  description: 'recording FunctionFS BOT gadget (dummy_hcd, high speed) answering from the simulator bridge emulations, one VID:PID per bridge kind',
  transport: 'bot',
  implementation: 'linux-gadget',
  drives: [],
  qemuArgs: () => [],
  cli: false,
  guestSetup: bridgeGadgetSetup(),
  // The guest script binds the gadgets itself, one at a time, and checks each device it makes.
  waitFor: { massStorageInterfaces: 0, disks: 0 },
  // Not in the scenario loop (the bridges differ per kind): what every one of the gadgets presents.
  expect: { ...SAT_GADGET.expect, vendorId: 0, productId: 0, serial: '', lunBytes: 0, vendor: '' },
};

/** The ids the README's examples name (a SanDisk Cruzer Blade), given to the gadget of README_GADGET. */
export const README_IDS = { vendorId: 0x0781, productId: 0x5567, serial: 'HILREADME0001' } as const;
/**
 * Large enough that a dump at the default command size (16 commands of 120 KiB per call) lasts several
 * calls on the gadget, so the Ctrl-C of the README's interrupted dump (sent once the first call's progress
 * is on record) lands mid-way.
 */
export const README_LUN_MIB = 16;

/**
 * f_mass_storage with the README's VID:PID and three LUNs: 0 a writable README_LUN_MIB disk (the README's
 * examples), 1 the same but read-only (write-protect), 2 removable with no medium (not ready).
 */
function readmeGadgetSetup(): string {
  return `
set -e
${gadgetModules('high', ['usb_f_mass_storage'])}
G=/sys/kernel/config/usb_gadget/readme
${gadgetDevice(README_IDS, { product: 'README gadget', configuration: 'mass storage' }, 0x0100)}
F="$G/functions/mass_storage.0"
mkdir -p "$F" "$F/lun.1" "$F/lun.2"
for l in 0 1; do
  IMG="$NEWROOT/tmp/hil-readme-$l.img"
  dd if=/dev/zero of="$IMG" bs=1M count=0 seek=${README_LUN_MIB} 2>/dev/null
  echo 0 > "$F/lun.$l/removable"
  echo 0 > "$F/lun.$l/cdrom"
  echo $l > "$F/lun.$l/ro"
  echo "$IMG" > "$F/lun.$l/file"
done
echo 1 > "$F/lun.2/removable"
echo 0 > "$F/lun.2/cdrom"
ln -s "$F" "$G/configs/c.1/"
echo dummy_udc.0 > "$G/UDC"
mount -t configfs none "$NEWROOT/sys/kernel/config"
`;
}

/** The Linux gadget configured as the README's examples expect it (test/hil/cli-examples.test.ts). */
export const README_GADGET: Profile = {
  name: 'readme-gadget',
  description: "Linux f_mass_storage gadget with the README's VID:PID: a disk, a read-only disk and an empty removable LUN",
  transport: 'bot',
  implementation: 'linux-gadget',
  drives: [],
  qemuArgs: () => [],
  cli: true,
  guestSetup: readmeGadgetSetup(),
  // The empty removable LUN has no size: two disks with media.
  waitFor: { massStorageInterfaces: 1, disks: 2 },
  expect: {
    vendorId: README_IDS.vendorId,
    productId: README_IDS.productId,
    serial: README_IDS.serial,
    speed: 'high',
    interfaceClass: 0x08,
    interfaceSubclass: 0x06,
    interfaceProtocol: 0x50,
    bulkPacketSize: 512,
    luns: 3,
    lunBytes: README_LUN_MIB * MiB,
    vendor: 'Linux',
  },
};

/** A guest with no USB devices: run.sh's preflight check that QEMU and the guest work at all. */
export const NO_DEVICES: Profile = {
  name: 'none',
  description: 'no USB devices',
  transport: 'bot',
  implementation: 'qemu',
  drives: [],
  qemuArgs: () => [],
  guestSetup: '',
  waitFor: { massStorageInterfaces: 0, disks: 0 },
  cli: false,
  expect: {
    vendorId: 0,
    productId: 0,
    serial: '',
    speed: 'high',
    interfaceClass: 0,
    interfaceSubclass: 0,
    interfaceProtocol: 0,
    bulkPacketSize: 0,
    luns: 0,
    lunBytes: 0,
    vendor: '',
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The Bulk-Only profiles (all but UAS): the scenario suite runs on each, and each has a checked-in transcript. */
export const BOT_PROFILE_NAMES: readonly ProfileName[] = PROFILE_NAMES.filter((name) => PROFILES[name].transport === 'bot');

export function getProfile(name: string): Profile {
  const profile = (PROFILES as Record<string, Profile | undefined>)[name];
  if (!profile) throw new Error(`unknown HIL profile "${name}"; known: ${PROFILE_NAMES.join(', ')}`);
  return profile;
}
