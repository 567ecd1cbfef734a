// A-B in one guest boot: the same guest-side script bundled from two checkouts, run alternately
// (A, B, A, B, ...) on one device, so load that drifts within a boot weighs on both alike.
//   AB_A=/path/to/checkout-a AB_B=. AB_SCRIPT=bench/devices/big-call.ts AB_PAIRS=3 HOPS_N=5 \
//     node --conditions=source --import tsx bench/devices/ab-run.ts gadget-hs
// AB_B defaults to this checkout; AB_SCRIPT (repo-relative) must exist in both. HOPS_* variables reach the
// script; each run gets HOPS_LABEL=A or B. Its output goes to stderr as it runs (grep the labels).
import path from 'node:path';
import { bundleForGuest } from '../../test/hil/bundle.js';
import type { ProfileName } from '../../test/hil/profiles.js';
import { runInGuest } from '../../test/hil/runner.js';

const profile = (process.argv[2] ?? 'gadget-hs') as ProfileName;
const checkoutA = process.env.AB_A;
if (!checkoutA) throw new Error('set AB_A to the checkout to compare against (e.g. a git worktree of main)');
const checkoutB = process.env.AB_B ?? '.';
const script = process.env.AB_SCRIPT ?? 'bench/devices/big-call.ts';
const pairs = Number(process.env.AB_PAIRS ?? 3);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`AB_PAIRS must be a positive integer, got ${process.env.AB_PAIRS}`);

const bundleA = await bundleForGuest(path.resolve(checkoutA, script), 'ab-A');
const bundleB = await bundleForGuest(path.resolve(checkoutB, script), 'ab-B');
// AB_NODE_ARGS: extra node options for both (e.g. V8's --trace-opt), split on spaces.
const nodeArgs = process.env.AB_NODE_ARGS ?? '';
// AB_NODE: the node binary to run both with (the guest's root is the host's), e.g. another Node.js major.
const node = process.env.AB_NODE ?? 'node';
const one = (label: string, bundle: string): string => `HOPS_LABEL=${label} ${node} --enable-source-maps ${nodeArgs} '${bundle}' || exit $?`;
const steps = Array.from({ length: pairs }, () => `${one('A', bundleA)}; ${one('B', bundleB)}`).join('; ');
const run = await runInGuest({
  profile,
  command: ['sh', '-c', steps],
  timeoutMs: Number(process.env.AB_TIMEOUT_MS ?? 1_200_000),
  echo: true,
  env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('HOPS_') && e[1] !== undefined)),
});
console.error(`[ab] exit ${run.exitCode}${run.exitCode === 0 ? '' : `\n${run.stderr}`}`);
process.exit(run.exitCode);
