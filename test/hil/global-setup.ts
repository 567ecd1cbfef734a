// Runs setup.sh once before any test file (installs QEMU etc., fetches the guest kernel, builds the
// initramfs) so a broken environment fails the run loudly up front instead of per test.
import { ensureSetup } from './runner.js';

export default function setup(): void {
  const env = ensureSetup();
  console.log(`[hil] guest kernel ${env.kernelVersion}, QEMU ${env.qemu}`);
}
