// Device benchmark, run inside the HIL guest (bundled on the host by run.ts with test/hil/bundle.ts).
// One boot, one device: the kernel driver first (dd O_DIRECT, sg_turs on the device's /dev/sg*), then
// usbms on the same device (sequential read/write at several command sizes, TEST UNIT READY latency,
// heap over a large read), then the kernel again (so drift over the boot shows up). Writes
// $HIL_OUT/bench.json; run.ts prints the tables.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
// Relative imports: bench/ is not a workspace package (no node_modules/@usbms here); same modules as the packages'.
import type { LogicalUnit, MscDevice } from '../../packages/core/src/index.js';
import { encodeCbw } from '../../packages/core/src/internal.js';
import { listDevices, NodeUsbTransport, openDevice } from '../../packages/node/src/index.js';
import { writeResult } from '../../test/hil/guest/host.js';
import { bulkEndpoints } from './endpoints.js';
import { BLOCK, env, expected, isGadget, KiB, MiB, profile } from './guest-config.js';
import { kernelThroughput, kernelTur } from './kernel-side.js';
import { median, quantile } from './stats.js';
import { kernelDevices } from './sysfs.js';
import type { BenchResult, HeapSample, Throughput, TurResult } from './types.js';

// Bytes moved per measurement. The gadget moves data several times slower (all of it is emulated
// guest kernel code), so it gets less.
const VOLUME = env('BENCH_MIB', isGadget ? 16 : 32) * MiB;
const SIZES = (process.env.BENCH_SIZES ?? '64,256,1024,4096').split(',').map((s) => Number(s) * KiB);
const TUR_COUNT = env('BENCH_TURS', 300);
const REGION_LBA = 0; // the whole benchmark runs over [0, VOLUME) of LUN 0
const result: BenchResult = {
  profile: profile.name,
  description: profile.description,
  volumeBytes: VOLUME,
  kernel: [],
  usbms: { read: [], write: [] },
  notes: [],
};
const save = (): void => writeResult('bench.json', result);
const log = (s: string): void => console.log(`[bench ${profile.name}] ${s}`);

// --- usbms side ------------------------------------------------------------------------------------

/** TEST UNIT READY round trips through usbms (20 warm-up commands first: JIT, first-use allocations). */
function usbmsTur(lu: LogicalUnit): Promise<TurResult> {
  return timeTurs(async () => {
    await lu.testUnitReady();
  });
}

/** Counts the USB transfers node-usb is asked for (wraps the device object's native calls). */
const transfers = { in: 0, out: 0 };
function countTransfers(device: MscDevice): void {
  const usb = (device.transport as unknown as { device?: Record<string, unknown> }).device;
  if (!usb) return;
  for (const [name, key] of [
    ['nativeTransferIn', 'in'],
    ['nativeTransferOut', 'out'],
  ] as const) {
    const original = usb[name];
    if (typeof original !== 'function') continue;
    usb[name] = (...args: unknown[]): unknown => {
      transfers[key]++;
      return (original as (...a: unknown[]) => unknown).apply(usb, args);
    };
  }
}

/** `fresh`: reads without a caller buffer (each `lu.read` returns the buffer the transport filled). */
async function usbmsThroughput(lu: LogicalUnit, op: 'read' | 'write', size: number, variant = 'default', fresh = false): Promise<Throughput> {
  const blocks = size / BLOCK;
  const commands = Math.max(1, Math.floor(VOLUME / size));
  const buffer = new Uint8Array(size);
  const before = transfers.in + transfers.out;
  const started = performance.now();
  for (let i = 0; i < commands; i++) {
    const lba = REGION_LBA + i * blocks;
    if (op === 'read') await (fresh ? lu.read(lba, blocks) : lu.read(lba, blocks, { into: buffer }));
    else await lu.write(lba, buffer);
  }
  const seconds = (performance.now() - started) / 1000;
  const bytes = commands * size;
  const transfersPerCommand = (transfers.in + transfers.out - before) / commands;
  const t: Throughput = {
    op,
    variant,
    commandBytes: size,
    bytes,
    seconds,
    mbps: bytes / seconds / 1e6,
    msPerCommand: (seconds * 1000) / commands,
    transfersPerCommand,
  };
  log(
    `usbms ${op} ${size / KiB} KiB (${variant}): ${t.mbps.toFixed(1)} MB/s (${t.msPerCommand.toFixed(2)} ms/command, ${transfersPerCommand.toFixed(2)} transfers/command)`,
  );
  return t;
}

/** Heap while reading the volume twice in 1 MiB commands into fresh buffers (what a naive caller does). */
async function heapOverLargeRead(lu: LogicalUnit): Promise<NonNullable<BenchResult['heap']>> {
  const samples: HeapSample[] = [];
  const t0 = performance.now();
  const sample = (): void => {
    const m = process.memoryUsage();
    samples.push({ t: Math.round(performance.now() - t0), heapUsed: m.heapUsed, rss: m.rss, arrayBuffers: m.arrayBuffers, external: m.external });
  };
  const timer = setInterval(sample, 50);
  sample();
  const blocks = MiB / BLOCK;
  const rounds = 2 * Math.floor(VOLUME / MiB);
  for (let i = 0; i < rounds; i++) {
    const lba = REGION_LBA + (i % Math.floor(VOLUME / MiB)) * blocks;
    await lu.read(lba, blocks);
  }
  clearInterval(timer);
  sample();
  const half = samples.slice(Math.floor(samples.length / 2));
  const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
  return {
    bytesRead: rounds * MiB,
    samples: samples.length,
    peakHeapUsed: max(samples.map((s) => s.heapUsed)),
    steadyHeapUsed: median(half.map((s) => s.heapUsed)),
    peakRss: max(samples.map((s) => s.rss)),
    steadyRss: median(half.map((s) => s.rss)),
    peakArrayBuffers: max(samples.map((s) => s.arrayBuffers)),
    firstHeapUsed: samples[0]?.heapUsed ?? 0,
    lastHeapUsed: samples[samples.length - 1]?.heapUsed ?? 0,
  };
}

/**
 * 'default': usbms as shipped (the status read of no-data and data-out commands submitted with the
 * CBW: earlyStatus). 'serial': one transfer at a time (earlyStatus off, how usbms ran before it).
 * 'status-with-data': as shipped plus the opt-in NodeUsbTransport readStatusWithData (reads only).
 */
type Config = 'default' | 'serial' | 'status-with-data';

async function openUsbms(maxTransferBytes: number, config: Config): Promise<MscDevice> {
  const [info] = await listDevices({ serialNumber: expected.serial });
  if (!info) throw new Error(`listDevices() did not find ${expected.serial}`);
  return openDevice(info, {
    defaultTimeoutMs: 120_000,
    readStatusWithData: config === 'status-with-data',
    maxTransferBytes,
    earlyStatus: config !== 'serial',
  });
}

/** Opens the device again once the kernel has it back (usbms re-attached the driver at close). */
async function reopen(config: Config): Promise<{ device: MscDevice; lu: LogicalUnit }> {
  await kernelDevices(expected.serial, 30_000); // listDevices sees it with the kernel driver bound again
  const device = await openUsbms(Math.max(...SIZES), config);
  countTransfers(device);
  const lu = device.lun(0);
  await lu.readCapacity();
  return { device, lu };
}

/** Sequential write (unless reads only) then read at every command size. */
async function sizes(lu: LogicalUnit, variant: string, readsOnly = false, fresh = false): Promise<void> {
  for (const size of SIZES) {
    if (!readsOnly) result.usbms.write.push(await usbmsThroughput(lu, 'write', size, variant));
    result.usbms.read.push(await usbmsThroughput(lu, 'read', size, variant, fresh));
    save();
  }
}

/** TEST UNIT READY as two bare node-usb calls on the device usbms has open (no usbms layers): node-usb's own floor. */
async function rawNodeUsbTur(device: MscDevice): Promise<TurResult | undefined> {
  const transport = device.transport;
  if (!(transport instanceof NodeUsbTransport)) return undefined;
  const usb = transport.device;
  const eps = bulkEndpoints(transport);
  if (!eps) return undefined;
  const { in: epIn, out: epOut } = eps;
  let tag = 0x7000_0000;
  return timeTurs(async () => {
    const cbw = encodeCbw({ tag: ++tag, dataTransferLength: 0, direction: 'out', lun: 0, cdb: new Uint8Array(6) });
    await usb.nativeTransferOut(epOut.endpointNumber, 5000, cbw);
    await usb.nativeTransferIn(epIn.endpointNumber, 5000, epIn.packetSize);
  });
}

/**
 * TEST UNIT READY through raw usbfs ioctls (USBDEVFS_BULK, synchronous, no libusb/nusb/Node) from
 * usbfs-floor.py, when the guest has python3: what a userspace BOT stack costs without node-usb's
 * completion path. Runs with the kernel driver re-attached (the script detaches and re-attaches it).
 */
function usbfsTur(): TurResult | undefined {
  const script = process.env.BENCH_USBFS_FLOOR; // set by run.ts
  if (script === undefined || !fs.existsSync('/usr/bin/python3')) return undefined;
  const r = spawnSync('/usr/bin/python3', [script, expected.serial, String(TUR_COUNT)], { encoding: 'utf8' });
  const m = /usbfs TUR mean (\d+) p50 (\d+) p90 (\d+) us/.exec(r.stdout);
  if (r.status !== 0 || !m) {
    result.notes.push(`usbfs-floor.py failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
    return undefined;
  }
  return { count: TUR_COUNT, meanUs: Number(m[1]), p50Us: Number(m[2]), p90Us: Number(m[3]), wallMs: (Number(m[1]) * TUR_COUNT) / 1000 };
}

// --- the run ----------------------------------------------------------------------------------------

const t0 = performance.now();
let { disk, sg } = await kernelDevices(expected.serial, 30_000);
log(`kernel devices: /dev/${disk}, /dev/${sg}; volume ${VOLUME / MiB} MiB`);
result.kernel.push(...kernelThroughput(disk, VOLUME, 1, log));
result.kernelTur = kernelTur(sg, TUR_COUNT);
log(`kernel TUR: ${result.kernelTur.meanUs.toFixed(0)} us`);
save();

// A: usbms as shipped. B: one transfer at a time. C: as shipped again (load drifts within a boot: ABA).
const device = await openUsbms(Math.max(...SIZES), 'default');
countTransfers(device);
const lu = device.lun(0);
result.speed = device.info.speed ?? 'unknown';
await lu.readCapacity();
result.usbmsTur = await usbmsTur(lu);
log(`usbms TUR: ${result.usbmsTur.meanUs.toFixed(0)} us (p50 ${result.usbmsTur.p50Us?.toFixed(0)})`);
save();
await sizes(lu, 'default');
result.heap = await heapOverLargeRead(lu);
log(
  `heap: peak ${(result.heap.peakHeapUsed / MiB).toFixed(1)} MiB, steady ${(result.heap.steadyHeapUsed / MiB).toFixed(1)} MiB, peak rss ${(result.heap.peakRss / MiB).toFixed(0)} MiB`,
);
// A known pattern for the read-back check at the end.
const pattern = new Uint8Array(4 * MiB).map((_, i) => (i * 131 + (i >>> 9) * 7) & 0xff);
await lu.write(REGION_LBA, pattern);
const raw = await rawNodeUsbTur(device);
if (raw) result.rawNodeUsbTur = raw;
result.earlyStatusKept = device.earlyStatus;
save();
await device.close();

const { device: serial, lu: serialLu } = await reopen('serial');
result.usbmsTurSerial = await usbmsTur(serialLu);
await sizes(serialLu, 'serial');
await serial.close();

const { device: again, lu: againLu } = await reopen('default');
result.usbmsTur2 = await usbmsTur(againLu);
await sizes(againLu, 'default#2');
// Reads as shipped without a caller buffer: one command per read returns node-usb's own buffer (no copy).
await sizes(againLu, 'fresh', true, true);
// The sizes loop overwrote the first blocks: write the pattern again (as shipped, early status).
await againLu.write(REGION_LBA, pattern);
await again.close();

const { device: sts, lu: stsLu } = await reopen('status-with-data');
// Reads with the opt-in read-ahead must return exactly what was written.
const mismatches: string[] = [];
for (const size of [64 * KiB, 4 * MiB]) {
  const back = new Uint8Array(pattern.length);
  for (let off = 0; off < pattern.length; off += size) {
    await stsLu.read(REGION_LBA + off / BLOCK, size / BLOCK, { into: back.subarray(off, off + size) });
  }
  const bad = back.findIndex((b, i) => b !== pattern[i]);
  if (bad >= 0) mismatches.push(`${size / KiB} KiB commands: first difference at byte ${bad}`);
}
result.notes.push(
  mismatches.length === 0
    ? 'a 4 MiB pattern written with early status reads read back exactly with status-with-data reads (64 KiB and 4 MiB commands)'
    : `READ-BACK MISMATCH: ${mismatches.join('; ')}`,
);
if (mismatches.length > 0) process.exitCode = 1;
await sizes(stsLu, 'status-with-data', true);
await sts.close();

({ disk, sg } = await kernelDevices(expected.serial, 30_000));
const floor = usbfsTur();
if (floor) result.usbfsTur = floor;
({ disk, sg } = await kernelDevices(expected.serial, 30_000));
result.kernel.push(...kernelThroughput(disk, VOLUME, 2, log));
result.kernelTur2 = kernelTur(sg, TUR_COUNT);
result.totalSeconds = (performance.now() - t0) / 1000;
save();
log(`done in ${result.totalSeconds.toFixed(0)} s`);
process.exit(process.exitCode ?? 0);

async function timeTurs(one: () => Promise<void>): Promise<TurResult> {
  for (let i = 0; i < 20; i++) await one();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < TUR_COUNT; i++) {
    const t = performance.now();
    await one();
    samples.push(performance.now() - t);
  }
  const wallMs = performance.now() - started;
  const pct = (q: number): number => quantile(samples, q) * 1000;
  return { count: TUR_COUNT, meanUs: (wallMs * 1000) / TUR_COUNT, wallMs, p50Us: pct(0.5), p90Us: pct(0.9) };
}
