/**
 * Core benchmark (`pnpm bench`): the cost of the stack above the transport
 * (queue + BOT + SCSI + block I/O), over a transport with zero latency.
 * Prints a table and writes JSON to test-output/bench/core.json.
 *
 * Figures that matter are ratios measured in this one run (the machines are
 * shared and noisy): full-stack TEST UNIT READY versus a bare loop of the
 * same two transfers against the same transport.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BotEngine } from '../src/bot/engine.js';
import { encodeCbw } from '../src/bot/wrappers.js';
import { MscDevice } from '../src/device.js';
import { CommandQueue } from '../src/queue.js';
import { SimulatedDevice } from '../src/sim/index.js';
import { ZeroLatencyTransport } from './zero-latency-transport.js';

const MIN_TIME_MS = Number(process.env.BENCH_MS ?? 1500);

interface Row {
  name: string;
  ops: number;
  opsPerSec: number;
  usPerOp: number;
  mbPerSec?: number;
}

async function measure(name: string, op: () => Promise<unknown>, bytesPerOp = 0): Promise<Row> {
  // Warm up the JIT, then run for at least MIN_TIME_MS.
  for (let i = 0; i < 2000 && (bytesPerOp < 1 << 20 || i < 50); i++) await op();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_TIME_MS) {
    for (let i = 0; i < 64; i++) await op();
    ops += 64;
    elapsed = performance.now() - start;
  }
  const opsPerSec = (ops / elapsed) * 1000;
  return {
    name,
    ops,
    opsPerSec,
    usPerOp: (elapsed * 1000) / ops,
    ...(bytesPerOp > 0 ? { mbPerSec: (opsPerSec * bytesPerOp) / 1e6 } : {}),
  };
}

/** Counts bytes copied through Uint8Array#set and #slice while `fn` runs. */
async function countCopies(fn: () => Promise<unknown>): Promise<number> {
  const proto = Uint8Array.prototype;
  const originalSet = proto.set;
  const originalSlice = proto.slice;
  let copied = 0;
  proto.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return originalSet.call(this, source, offset);
  } as typeof proto.set;
  proto.slice = function (this: Uint8Array, start?: number, end?: number) {
    const out = originalSlice.call(this, start, end);
    copied += out.length;
    return out;
  } as typeof proto.slice;
  try {
    await fn();
  } finally {
    proto.set = originalSet;
    proto.slice = originalSlice;
  }
  return copied;
}

async function main(): Promise<void> {
  const transport = new ZeroLatencyTransport(8 << 20);
  const device = await MscDevice.open(transport, { maxTransferBytes: 1 << 20 });
  const lu = device.lun(0);
  await lu.readCapacity();

  // Bare loop: the same two transfers a TEST UNIT READY needs, without the stack.
  const bare = new ZeroLatencyTransport();
  const cbw = encodeCbw({ tag: 1, dataTransferLength: 0, direction: 'out', lun: 0, cdb: new Uint8Array(6) });
  const bareOptions = { timeoutMs: 1000 };
  const bareTur = async (): Promise<void> => {
    await bare.bulkOut(cbw, bareOptions);
    await bare.bulkIn(13, bareOptions);
  };

  // The same comparison over the simulator, a zero-latency transport that really
  // decodes the CBW, runs the SCSI command and builds the CSW.
  const sim = new SimulatedDevice();
  const simDevice = await MscDevice.open(sim.transport);
  const simLu = simDevice.lun(0);
  let simTag = 1000;
  const simCbw = new Uint8Array(31);
  const simBareTur = async (): Promise<void> => {
    encodeCbw({ tag: ++simTag, dataTransferLength: 0, direction: 'out', lun: 0, cdb: new Uint8Array(6) }, simCbw);
    await sim.transport.bulkOut(simCbw, bareOptions);
    await sim.transport.bulkIn(13, bareOptions);
  };

  // The stack's layers one by one: the BOT engine alone (its own transport), the queue alone.
  const engine = new BotEngine(new ZeroLatencyTransport(), {});
  const turRequest = { lun: 0, cdb: new Uint8Array(6), direction: 'none' as const, length: 0, timeoutMs: 20_000 };
  const queue = new CommandQueue();
  const nothing = async (): Promise<number> => 0;

  const rows: Row[] = [];
  rows.push(await measure('bare loop: CBW out + CSW in', bareTur));
  rows.push(await measure('TEST UNIT READY', () => lu.testUnitReady()));
  rows.push(await measure('  of which: BOT engine alone (TEST UNIT READY)', () => engine.command(turRequest)));
  rows.push(await measure('  of which: command queue alone (a job doing nothing, with a time limit)', () => queue.run(nothing, { timeoutMs: 20_000 })));
  rows.push(await measure('INQUIRY (36 bytes)', () => lu.readInquiry()));
  for (const [label, bytes] of [
    ['READ(10) 4 KiB', 4096],
    ['READ(10) 64 KiB', 64 << 10],
    ['READ(10) 1 MiB', 1 << 20],
  ] as const) {
    const blocks = bytes / 512;
    const into = new Uint8Array(bytes);
    rows.push(await measure(`${label}`, () => lu.read(0, blocks, { into }), bytes));
  }
  rows.push(await measure('simulator bare loop: CBW out + CSW in', simBareTur));
  rows.push(await measure('simulator TEST UNIT READY', () => simLu.testUnitReady()));
  // Eight callers at once: the queue serializes them.
  rows.push(
    await measure('TEST UNIT READY x8 concurrent (per command)', async () => {
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(() => lu.testUnitReady()));
    }),
  );
  const last = rows.at(-1);
  if (last) {
    last.opsPerSec *= 8;
    last.usPerOp /= 8;
  }

  // Copies: bytes copied anywhere (Uint8Array#set/#slice) per byte read, minus the
  // transport's own fill of the data buffer, the caller's or its own (that is the device's DMA).
  const readBytes = 16 << 20;
  const copiedZero = await countCopies(async () => {
    transport.bytesIntoCaller = 0;
    transport.bytesOwnBuffer = 0;
    for (let i = 0; i < 16; i++) await lu.read(0, 2048);
  });
  const stackCopiesZero = (copiedZero - transport.bytesIntoCaller - transport.bytesOwnBuffer) / readBytes;

  const byteRow = (name: string): Row => {
    const row = rows.find((r) => r.name === name);
    if (!row) throw new Error(name);
    return row;
  };
  const tur = byteRow('TEST UNIT READY');
  const bareRow = byteRow('bare loop: CBW out + CSW in');
  const ratio = tur.usPerOp / bareRow.usPerOp;
  const simRatio = byteRow('simulator TEST UNIT READY').usPerOp / byteRow('simulator bare loop: CBW out + CSW in').usPerOp;
  const stackUs = tur.usPerOp - bareRow.usPerOp;

  const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, ${os.platform()} ${os.arch()}`;
  console.log(`usbms core benchmark, ${new Date().toISOString()}`);
  console.log(`machine: ${machine}`);
  console.log('');
  console.log('| operation | ops/s | µs/op | MB/s |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.usPerOp.toFixed(2)} | ${r.mbPerSec ? r.mbPerSec.toFixed(0) : ''} |`);
  }
  console.log('');
  console.log(
    `full-stack TEST UNIT READY / bare loop, minimal fake transport: ${ratio.toFixed(2)}x (target <= 3x); the stack adds ${stackUs.toFixed(2)} µs per command`,
  );
  console.log(`full-stack TEST UNIT READY / bare loop, simulator transport: ${simRatio.toFixed(2)}x (target <= 3x)`);
  console.log(`TEST UNIT READY rate: ${Math.round(tur.opsPerSec).toLocaleString('en-US')}/s (target >= 100,000/s)`);
  console.log(`bytes copied above the transport per byte read: ${stackCopiesZero.toFixed(3)} (target <= 1)`);

  const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-output/bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'core.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, rows, turOverBare: ratio, turOverBareSimulator: simRatio, copiesPerByteRead: stackCopiesZero }, null, 2)}\n`,
  );
  await device.close();
  await simDevice.close();
}

await main();
