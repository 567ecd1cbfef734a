/**
 * `pnpm fuzz [--count N] [--seed S]`: the device-level fuzzer (device-fuzz.ts)
 * over N fuzzed device responses (default 100 000). Prints progress, then the
 * outcomes by error class; exits 1 on any untyped error, out-of-bounds result
 * or hang of open()/close(). JSON in test-output/fuzz/device-fuzz.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DeviceFuzzReport, runDeviceFuzz } from './device-fuzz.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: pnpm fuzz [--count N] [--seed S]');
  process.exit(2);
}
const started = performance.now();
let nextReport = 0;
const report: DeviceFuzzReport = await runDeviceFuzz({
  count,
  seed,
  onBatch: (r) => {
    if (r.responses >= nextReport) {
      nextReport += Math.max(10_000, Math.floor(count / 20));
      const s = (performance.now() - started) / 1000;
      console.error(`${r.responses.toLocaleString('en-US')} responses, ${r.batches.toLocaleString('en-US')} batches, ${s.toFixed(0)} s, hangs ${r.hangs}`);
    }
  },
});
const seconds = (performance.now() - started) / 1000;
const summary = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}`,
  seconds: Math.round(seconds),
  ...report,
  untyped: report.untyped.slice(0, 20),
  invalid: report.invalid.slice(0, 20),
  untypedCount: report.untyped.length,
  invalidCount: report.invalid.length,
};
console.log(JSON.stringify(summary, null, 2));
const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-output/fuzz');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'device-fuzz.json'), `${JSON.stringify(summary, null, 2)}\n`);
process.exit(report.untyped.length === 0 && report.invalid.length === 0 && report.hangs === 0 ? 0 : 1);
