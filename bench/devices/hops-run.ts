// Runs hops.ts in the guest for one profile:
//   node --conditions=source --import tsx bench/devices/hops-run.ts xhci-storage
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForGuest } from '../../test/hil/bundle.js';
import type { ProfileName } from '../../test/hil/profiles.js';
import { runInGuest } from '../../test/hil/runner.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bundle = await bundleForGuest(path.join(HERE, 'hops.ts'), 'bench-hops');
const profile = (process.argv[2] ?? 'ehci-storage') as ProfileName;
const run = await runInGuest({
  profile,
  command: ['node', '--enable-source-maps', bundle],
  timeoutMs: Number(process.env.HOPS_TIMEOUT_MS ?? 400_000),
  echo: true,
  env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('HOPS_') && e[1] !== undefined)),
});
console.error(`[hops] exit ${run.exitCode}${run.exitCode === 0 ? '' : `\n${run.stderr}`}`);
process.exit(run.exitCode);
