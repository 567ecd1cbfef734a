// Runs startup.ts in the guest for one profile (default gadget-hs), with the CLI bundled as users run it:
//   node --conditions=source --import tsx bench/devices/startup-run.ts gadget-hs
// STARTUP_A=/path/to/other-checkout: its CLI and this one's alternate, A then B, in the same boot.
import path from 'node:path';
import { bundleForGuest } from '../../test/hil/bundle.js';
import type { ProfileName } from '../../test/hil/profiles.js';
import { runInGuest } from '../../test/hil/runner.js';

const profile = (process.argv[2] ?? 'gadget-hs') as ProfileName;
const cli = await bundleForGuest('packages/node/src/cli/run.ts', 'usbms');
const checkoutA = process.env.STARTUP_A;
const cliA = checkoutA === undefined ? undefined : await bundleForGuest(path.resolve(checkoutA, 'packages/node/src/cli/run.ts'), 'usbms-A');
const script = await bundleForGuest('bench/devices/startup.ts', 'bench-startup');
const env: Record<string, string> = { HOPS_CLI_BUNDLE: cli, ...(cliA === undefined ? {} : { HOPS_CLI_BUNDLE_A: cliA }) };
if (process.env.HOPS_N !== undefined) env.HOPS_N = process.env.HOPS_N;
const run = await runInGuest({ profile, command: ['node', script], timeoutMs: 900_000, echo: true, env });
console.error(`[startup] exit ${run.exitCode}${run.exitCode === 0 ? '' : `\n${run.stderr}`}`);
process.exit(run.exitCode);
