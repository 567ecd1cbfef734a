#!/usr/bin/env bash
# Entry point of the QEMU integration suite for the test command and CI: prepares the guest (setup.sh:
# installs QEMU & co from Debian if missing, fetches the guest kernel, builds the initramfs), checks that
# QEMU can actually boot it, then runs the suite. Any failure, including QEMU not starting, exits non-zero:
# this suite never skips.
# Usage: test/hil/run.sh [vitest args...]     e.g. test/hil/run.sh test/hil/smoke.test.ts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
start=$(date +%s)

echo "[hil] setup"
bash test/hil/setup.sh > /dev/null

echo "[hil] preflight: booting a guest with no devices"
if ! node --conditions=source --import tsx test/hil/preflight.ts; then
  echo "[hil] FATAL: QEMU could not boot the test guest; the integration suite cannot run (see above)." >&2
  exit 1
fi

# The workspace's vitest, called directly: pnpm may exist only inside `npx pnpm@...`.
vitest=(node node_modules/vitest/vitest.mjs)
status=0
"${vitest[@]}" run --config test/hil/vitest.config.ts "$@" || status=$?
echo "[hil] finished in $(( $(date +%s) - start )) s with status $status"
exit "$status"
