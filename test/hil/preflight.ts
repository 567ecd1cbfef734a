// Boots the guest once with no USB devices and runs node in it: a fast, explicit check that QEMU, the
// kernel, the initramfs and the 9p root work here, run by run.sh before the suite. Exit 0 or fail loudly.
import { NO_DEVICES } from './profiles.js';
import { HilInfrastructureError, runInGuest } from './runner.js';

try {
  const result = await runInGuest({
    profile: NO_DEVICES,
    command: ['node', '-e', 'console.log(process.version)'],
    timeoutMs: 120_000,
  });
  if (result.exitCode !== 0 || result.stdout.trim() !== process.version) {
    console.error(`[hil] preflight: node in the guest failed (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
    process.exit(1);
  }
  console.log(`[hil] preflight ok: guest ready at ${result.bootSeconds ?? '?'} s uptime, ${(result.durationMs / 1000).toFixed(1)} s wall`);
} catch (error) {
  console.error(`[hil] preflight failed: ${error instanceof HilInfrastructureError ? error.message : String(error)}`);
  process.exit(1);
}
