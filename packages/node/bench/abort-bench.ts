/**
 * `pnpm bench`, abort part: how long usbms takes from `abort()` to the caller's rejection when a
 * pipelined read (16 commands, one queue job) is cut while its first data-in is on the wire, over the
 * usbfs transport and the fake usbfs kernel (tests' FakeUsbfsKernel; the discarded URB ends at once),
 * so what is measured is usbms's own JavaScript: the discard, the reap, the rejection of every stage
 * chained behind it, the engine's failure path, and (with a caller buffer) the release of the
 * command queue's hold. Median and 10th percentile over ROUNDS aborts, each after a warm-up.
 *
 * JSON in test-output/bench/abort.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MscDevice } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { makeLinuxTree } from '../src/testing/fake-sysfs.js';
import { FakeUsbDevice } from '../src/testing/fake-usb.js';
import { FakeUsbfsKernel } from '../src/testing/fake-usbfs.js';
import { UsbfsTransport } from '../src/usbfs/transport.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ROUNDS = Number(process.env.ABORT_BENCH_ROUNDS ?? 600);
const BLOCK = 512;
const COMMAND_BLOCKS = 2;
const READ_BLOCKS = 16 * COMMAND_BLOCKS;

const tree = await makeLinuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16', partitions: [] }] });
const kernel = new FakeUsbfsKernel(new SimulatedDevice({ luns: [{ blocks: 4096 }] }).transport, { driver: 'usb-storage' });
const transport = await UsbfsTransport.open(new FakeUsbDevice({ vendorId: 0x1209, productId: 0x5553 }), {
  sys: kernel,
  platform: 'linux',
  linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot },
});
const device = await MscDevice.open(transport, { maxTransferBytes: COMMAND_BLOCKS * BLOCK });
await device.readCapacity();

/** µs from abort() to the rejection of `lu.read` (the first data-in never ends until discarded). */
async function abortOnce(into: Uint8Array | undefined): Promise<number> {
  kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
  const controller = new AbortController();
  const read = device.read(0, READ_BLOCKS, { signal: controller.signal, ...(into ? { into } : {}) }).catch(() => undefined);
  // Let the job start and its first data-in reach the (fake) wire.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const start = process.hrtime.bigint();
  controller.abort();
  await read;
  const us = Number(process.hrtime.bigint() - start) / 1000;
  await device.testUnitReady(); // after the job's reset recovery
  return us;
}

async function measure(into: Uint8Array | undefined): Promise<{ p50: number; p10: number }> {
  for (let i = 0; i < 100; i++) await abortOnce(into);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await abortOnce(into));
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)] ?? 0, p10: times[Math.floor(times.length / 10)] ?? 0 };
}

const caller = await measure(new Uint8Array(READ_BLOCKS * BLOCK));
const own = await measure(undefined);
await device.close();
await tree.cleanup();

const rows = [
  ['into a caller buffer (held until the transfers ended)', caller],
  ['into a buffer of its own (told at once)', own],
] as const;
console.log(`\nabort() -> rejection of a 16-command pipelined read over the fake usbfs kernel, ${ROUNDS} aborts each`);
for (const [name, r] of rows) console.log(`  ${name.padEnd(56)} p50 ${r.p50.toFixed(0).padStart(5)} µs   p10 ${r.p10.toFixed(0).padStart(5)} µs`);
const out = join(ROOT, 'test-output', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'abort.json'), `${JSON.stringify({ rounds: ROUNDS, caller, own }, null, 2)}\n`);
