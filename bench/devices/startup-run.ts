// Runs startup.ts in the guest for one profile (default gadget-hs), with the CLI bundled as users run it:
//   node --conditions=source --import tsx bench/devices/startup-run.ts gadget-hs
import { bundleForGuest } from '../../test/hil/bundle.js';
import type { ProfileName } from '../../test/hil/profiles.js';
import { runInGuest } from '../../test/hil/runner.js';

const profile = (process.argv[2] ?? 'gadget-hs') as ProfileName;
const cli = await bundleForGuest('packages/node/src/cli/run.ts', 'usbms');
const script = await bundleForGuest('bench/devices/startup.ts', 'bench-startup');
const run = await runInGuest({ profile, command: ['node', script], timeoutMs: 600_000, echo: true, env: { HOPS_CLI_BUNDLE: cli } });
console.error(`[startup] exit ${run.exitCode}${run.exitCode === 0 ? '' : `\n${run.stderr}`}`);
process.exit(run.exitCode);
