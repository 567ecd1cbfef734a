#!/usr/bin/env bash
# Host tools for the device benchmark, installed only if missing (idempotent): sg3-utils gives the guest
# `sg_turs` (the guest's root is the host's, shared read-only). The QEMU guest itself is prepared by
# test/hil/setup.sh (the runner calls it).
set -euo pipefail
if ! command -v sg_turs >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "[bench-setup] sg3-utils missing and not root: apt-get install sg3-utils" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  echo "[bench-setup] apt-get update && apt-get install sg3-utils" >&2
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends sg3-utils >&2
fi
command -v sg_turs >/dev/null
