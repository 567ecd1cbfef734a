// TEST UNIT READY in a loop, run inside the HIL guest (bundled on the host by ab-run.ts): the device
// opened as shipped, HOPS_WARM (default 20) untimed then HOPS_N (default 300) timed `lu.testUnitReady()`
// calls; prints p10/p50/p90 in µs. Compare two checkouts in one boot, e.g.
//   AB_A=/path/to/worktree AB_SCRIPT=bench/devices/tur-loop.ts AB_PAIRS=5 node --conditions=source --import tsx bench/devices/ab-run.ts gadget-hs
import { openAsShipped, profile } from './guest-config.js';
import { quantile } from './stats.js';

const N = Number(process.env.HOPS_N ?? 300);
const WARM = Number(process.env.HOPS_WARM ?? 20);
const LABEL = process.env.HOPS_LABEL ?? '';
const WINDOW = Number(process.env.HOPS_WINDOW ?? 0);

const device = await openAsShipped();
try {
  const lu = device.lun(0);
  for (let i = 0; i < WARM; i++) await lu.testUnitReady();
  const us: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await lu.testUnitReady();
    us.push((performance.now() - t) * 1000);
  }
  const q = (p: number, from = 0, to = us.length): string => quantile(us.slice(from, to), p).toFixed(0);
  const tag = `[tur-loop ${profile.name}${LABEL ? ` ${LABEL}` : ''}]`;
  console.log(`${tag} ${N} TUR µs p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)}`);
  // HOPS_WINDOW: p50 per window of that many commands, to see whether later commands (V8's optimized code) run faster.
  if (WINDOW > 0 && WINDOW < N) {
    const windows: string[] = [];
    for (let from = 0; from < N; from += WINDOW) windows.push(q(0.5, from, Math.min(N, from + WINDOW)));
    console.log(`${tag} p50 per ${WINDOW}: ${windows.join(' ')}`);
  }
} finally {
  await device.close();
}
