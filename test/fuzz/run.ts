/**
 * `pnpm fuzz [--count N] [--seed S] [--platform NAME|all]`: the device-level fuzzer
 * (packages/core/bench/device-fuzz.ts) over N fuzzed device responses per platform (default 100 000):
 * the hostile transport itself ("hostile"), and each adapter over its platform's fake with the
 * hostile device behind it ("usbfs", "node-usb", "webusb"; platforms.ts). Prints progress, then the
 * outcomes by error class; exits 1 on any untyped error, out-of-bounds result, caller buffer written
 * after its read settled, platform left unclean after close, or hang. JSON in
 * test-output/fuzz/<platform>-fuzz.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DeviceFuzzOptions, type DeviceFuzzReport, runDeviceFuzz } from '../../packages/core/bench/device-fuzz.js';
import { PLATFORMS as ADAPTERS, type FuzzPlatformKit, fuzzPlatform } from './platforms.js';

const PLATFORMS = ['hostile', ...ADAPTERS] as const;
const { values } = parseArgs({
  options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, platform: { type: 'string', default: 'all' } },
});
const count = Number(values.count);
const seed = Number(values.seed);
const platforms = values.platform === 'all' ? PLATFORMS : PLATFORMS.filter((p) => p === values.platform);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed) || platforms.length === 0) {
  console.error(`usage: pnpm fuzz [--count N] [--seed S] [--platform ${PLATFORMS.join('|')}|all]`);
  process.exit(2);
}
const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output/fuzz');
mkdirSync(out, { recursive: true });

let failed = false;
for (const name of platforms) {
  const kit: FuzzPlatformKit | undefined = name === 'hostile' ? undefined : await fuzzPlatform(name);
  const started = performance.now();
  let nextReport = 0;
  const options: DeviceFuzzOptions = {
    count,
    seed,
    ...(kit ? { platform: kit.platform } : {}),
    onBatch: (r) => {
      if (r.responses >= nextReport) {
        nextReport += Math.max(10_000, Math.floor(count / 20));
        const s = (performance.now() - started) / 1000;
        console.error(
          `${name}: ${r.responses.toLocaleString('en-US')} responses, ${r.batches.toLocaleString('en-US')} batches, ${s.toFixed(0)} s, hangs ${r.hangs}`,
        );
      }
    },
  };
  let report: DeviceFuzzReport;
  try {
    report = await runDeviceFuzz(options);
  } finally {
    await kit?.cleanup();
  }
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    platform: name,
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
  writeFileSync(path.join(out, `${name}-fuzz.json`), `${JSON.stringify(summary, null, 2)}\n`);
  if (report.untyped.length > 0 || report.invalid.length > 0 || report.hangs > 0) failed = true;
}
process.exit(failed ? 1 : 0);
