// The device scenario, run inside the HIL guest against the profile's device through @usbms/node (bundled
// on the host by bundle.ts). Each step records what it observed in $HIL_OUT/scenario.json (written after
// every step, so a crash still leaves the earlier ones); the host test asserts on it. Steps run in order
// on one device: kernel writes, discovery, open (kernel driver detached), SCSI commands, data both ways
// across the two stacks, flush, concurrency, abort/timeout recovery, close (driver re-attached), CLI,
// and hot-unplug last (it removes the device).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LogicalUnit, type MscDevice, read10, ScsiCheckConditionError, type SenseData, type TraceEvent, UsbmsError } from '@usbms/core';
import { listDevices, type MscDeviceInfo, NodeUsbTransport, openDevice, UsbfsTransport } from '@usbms/node';
import { getProfile, type Profile } from '../profiles.js';
import type {
  CommandOutcome,
  CompareResult,
  ErrorInfo,
  KernelState,
  RecoveryObservation,
  ScenarioResult,
  ScenarioSteps,
  SenseInfo,
} from '../scenario-types.js';
import { abortMidway } from './abort-midway.js';
import { callHost, flushCount, hilProfile, writeResult } from './host.js';

const profile: Profile = getProfile(hilProfile());
const expected = profile.expect;
const isGadget = profile.implementation === 'linux-gadget';
const results: ScenarioResult = {};
const TRANSFER_TIMEOUT_MS = 30_000;
const BLOCK = 512;

// Regions (in 512-byte blocks) of each LUN used by the data steps; the gadget (all in the guest kernel,
// emulated) moves data ~10x slower than QEMU's devices, so it gets smaller volumes.
const KERNEL_REGION = { lba: 8192, blocks: isGadget ? 512 : 2048 }; // written by the kernel, read by usbms
const USBMS_REGION = { lba: 16384, blocks: isGadget ? 1024 : 4096 }; // written by usbms, read by the kernel
const CONCURRENCY_BASE = 32768;
const LONG_READ_BLOCKS = isGadget ? 16384 : 65536; // 8 / 32 MiB: long enough to be cut by the unplug

function senseInfo(sense: SenseData | undefined): SenseInfo | undefined {
  if (!sense) return undefined;
  return {
    senseKey: sense.senseKey,
    asc: sense.asc,
    ascq: sense.ascq,
    ...(sense.senseKeyName ? { senseKeyName: sense.senseKeyName } : {}),
    ...(sense.description ? { description: sense.description } : {}),
  };
}

function errorInfo(error: unknown): ErrorInfo {
  const e = error instanceof Error ? error : new Error(String(error));
  const sense = error instanceof ScsiCheckConditionError ? senseInfo(error.sense) : undefined;
  return {
    code: error instanceof UsbmsError ? error.code : undefined,
    name: e.name,
    message: e.message,
    ...(sense ? { sense } : {}),
  };
}

async function step<K extends keyof ScenarioSteps>(name: K, fn: () => Promise<ScenarioSteps[K]>): Promise<ScenarioSteps[K] | undefined> {
  const started = performance.now();
  console.log(`[scenario] ${name} ...`);
  let data: ScenarioSteps[K] | undefined;
  try {
    data = await fn();
    results[name] = { ok: true, ms: Math.round(performance.now() - started), data } as ScenarioResult[K];
  } catch (error) {
    const info = errorInfo(error);
    results[name] = {
      ok: false,
      ms: Math.round(performance.now() - started),
      error: { ...info, ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) },
    } as ScenarioResult[K];
    console.log(`[scenario] ${name} FAILED: ${info.message}`);
  }
  writeResult('scenario.json', results);
  console.log(`[scenario] ${name} done in ${results[name]?.ms} ms`);
  return data;
}

// --- kernel side (sysfs, dd) -------------------------------------------------------------------------

let ifaceSysfs = ''; // e.g. /sys/bus/usb/devices/2-1:1.0, set at discovery

function findInterfaceSysfs(): string {
  const root = '/sys/bus/usb/devices';
  for (const name of fs.readdirSync(root)) {
    if (!name.includes(':')) continue;
    const dir = path.join(root, name);
    const read = (f: string): string => {
      try {
        return fs.readFileSync(path.join(dir, f), 'utf8').trim();
      } catch {
        return '';
      }
    };
    if (read('bInterfaceClass') !== '08') continue;
    const serial = (() => {
      try {
        // The interface's sysfs entry is a symlink: resolve it before going up to the USB device.
        return fs.readFileSync(path.join(path.dirname(fs.realpathSync(dir)), 'serial'), 'utf8').trim();
      } catch {
        return '';
      }
    })();
    if (serial === expected.serial) return dir;
  }
  throw new Error(`no mass-storage interface with serial ${expected.serial} in sysfs`);
}

function kernelState(): KernelState {
  let driver: string | null = null;
  try {
    driver = path.basename(fs.readlinkSync(path.join(ifaceSysfs, 'driver')));
  } catch {
    driver = null;
  }
  const real = fs.realpathSync(ifaceSysfs);
  const disks: KernelState['disks'] = [];
  for (const name of fs.readdirSync('/sys/block')) {
    if (!name.startsWith('sd')) continue;
    const target = fs.realpathSync(path.join('/sys/block', name));
    if (!target.startsWith(`${real}/`)) continue;
    // .../host0/target0:0:0/0:0:0:1/block/sdb -> LUN 1
    const hctl = /\/(\d+):(\d+):(\d+):(\d+)\/block\//.exec(target);
    const size = Number(fs.readFileSync(path.join('/sys/block', name, 'size'), 'utf8'));
    if (size > 0) disks.push({ name, lun: Number(hctl?.[4] ?? -1) });
  }
  disks.sort((a, b) => a.lun - b.lun);
  return { driver, disks };
}

async function waitForKernel(predicate: (s: KernelState) => boolean, timeoutMs: number): Promise<{ state: KernelState; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const state = kernelState();
    if (predicate(state)) return { state, waitedMs: Math.round(performance.now() - started) };
    if (performance.now() - started > timeoutMs) return { state, waitedMs: Math.round(performance.now() - started) };
    await sleep(100);
  }
}

function diskOf(state: KernelState, lun: number): string {
  const disk = state.disks.find((d) => d.lun === lun);
  if (!disk) throw new Error(`no kernel disk for LUN ${lun} (disks: ${JSON.stringify(state.disks)})`);
  return disk.name;
}

// dd moves 64 KiB per I/O (one SCSI command each with O_DIRECT); the regions are 64 KiB aligned.
const DD_BLOCKS = 128;
function ddArgs(lba: number, blocks: number): { bs: string; offset: number; count: number } {
  if (lba % DD_BLOCKS !== 0 || blocks % DD_BLOCKS !== 0) throw new Error(`dd range ${lba}+${blocks} is not 64 KiB aligned`);
  return { bs: `bs=${DD_BLOCKS * BLOCK}`, offset: lba / DD_BLOCKS, count: blocks / DD_BLOCKS };
}

/** O_DIRECT so the data comes from the device, not the page cache. */
function ddRead(disk: string, lba: number, blocks: number): Uint8Array {
  const { bs, offset, count } = ddArgs(lba, blocks);
  const r = spawnSync('dd', [`if=/dev/${disk}`, 'iflag=direct', bs, `skip=${offset}`, `count=${count}`, 'status=none'], {
    maxBuffer: blocks * BLOCK + 1024,
  });
  if (r.status !== 0) throw new Error(`dd read from /dev/${disk} failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
}

function ddWrite(disk: string, lba: number, data: Uint8Array): void {
  const { bs, offset } = ddArgs(lba, data.length / BLOCK);
  const r = spawnSync('dd', [`of=/dev/${disk}`, 'oflag=direct', 'iflag=fullblock', bs, `seek=${offset}`, 'conv=notrunc,fsync', 'status=none'], { input: data });
  if (r.status !== 0) throw new Error(`dd write to /dev/${disk} failed: ${r.stderr.toString()}`);
}

function compare(expectedData: Uint8Array, actual: Uint8Array): CompareResult {
  const n = Math.min(expectedData.length, actual.length);
  let firstDifference: number | undefined;
  for (let i = 0; i < n; i++) {
    if (expectedData[i] !== actual[i]) {
      firstDifference = i;
      break;
    }
  }
  if (firstDifference === undefined && expectedData.length !== actual.length) firstDifference = n;
  return { bytes: actual.length, equal: firstDifference === undefined, ...(firstDifference === undefined ? {} : { firstDifference }) };
}

const random = (bytes: number): Uint8Array => new Uint8Array(randomBytes(bytes));
const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

// --- the scenario ------------------------------------------------------------------------------------

const lunCount = expected.luns;
const kernelPatterns = new Map<number, Uint8Array>();
const usbmsPatterns = new Map<number, Uint8Array>();
let info: MscDeviceInfo | undefined;
let device: MscDevice | undefined;

function lus(): LogicalUnit[] {
  if (!device) throw new Error('the device is not open (an earlier step failed)');
  return [...device.luns];
}

async function openIt(): Promise<MscDevice> {
  if (!info) throw new Error('discovery failed');
  const list = await listDevices({ serialNumber: expected.serial });
  const fresh = list[0] ?? info;
  return openDevice(fresh, { defaultTimeoutMs: TRANSFER_TIMEOUT_MS });
}

async function driveFlushCounts(): Promise<number | null> {
  if (!expected.driveIds) return null;
  let total = 0;
  for (const id of expected.driveIds) total += await flushCount(id);
  return total;
}

await step('kernel-write', async () => {
  ifaceSysfs = findInterfaceSysfs();
  const { state } = await waitForKernel((s) => s.disks.length === lunCount, 20_000);
  const out: ScenarioSteps['kernel-write'] = [];
  for (let lun = 0; lun < lunCount; lun++) {
    const disk = diskOf(state, lun);
    const data = random(KERNEL_REGION.blocks * BLOCK);
    ddWrite(disk, KERNEL_REGION.lba, data);
    kernelPatterns.set(lun, data);
    out.push({ lun, disk, lba: KERNEL_REGION.lba, bytes: data.length });
  }
  return out;
});

async function discover(): Promise<ScenarioSteps['discovery']> {
  const all = await listDevices();
  const mine = all.filter((d) => d.serialNumber === expected.serial);
  info = mine[0];
  if (!info) throw new Error(`listDevices() did not return serial ${expected.serial}: ${all.map((d) => d.id).join(', ')}`);
  // JSON round trip: drops the node-usb device object, keeps the plain facts.
  return { count: mine.length, info: JSON.parse(JSON.stringify(info)) as ScenarioSteps['discovery']['info'] };
}

if (profile.transport === 'uas') {
  // UAS-only device: it must be listed, and opening it must be refused without leaving the kernel
  // driver detached.
  ifaceSysfs = findInterfaceSysfs();
  await step('discovery', discover);
  await step('uas-refused', async () => {
    let error: ErrorInfo | null = null;
    try {
      const opened = await openDevice(info ?? { serialNumber: expected.serial }, { defaultTimeoutMs: TRANSFER_TIMEOUT_MS });
      await opened.close();
    } catch (e) {
      error = errorInfo(e);
    }
    return { error, driverAfter: kernelState().driver };
  });
  console.log('[scenario] finished');
  process.exit(0);
}

await step('discovery', discover);

await step('open', async () => {
  const before = kernelState();
  device = await openIt();
  const transport = device.transport;
  const after = await waitForKernel((s) => s.disks.length === 0, 10_000);
  return {
    detachedDriver: transport instanceof NodeUsbTransport || transport instanceof UsbfsTransport ? (transport.detachedDriver ?? null) : null,
    backend: transport instanceof UsbfsTransport ? 'usbfs' : transport instanceof NodeUsbTransport ? 'usb' : 'other',
    before,
    after: after.state,
    maxLun: device.maxLun,
    luns: device.luns.length,
    transport: { maxPacketSizeIn: device.info.maxPacketSizeIn, maxPacketSizeOut: device.info.maxPacketSizeOut, speed: device.info.speed ?? 'unknown' },
  };
});

await step('lun-discovery', async () =>
  lus().map((lu) => ({
    lun: lu.number,
    ...(lu.inquiry
      ? { vendor: lu.inquiry.vendor, product: lu.inquiry.product, peripheralDeviceType: lu.inquiry.peripheralDeviceType, removable: lu.inquiry.removable }
      : {}),
  })),
);

await step('inquiry-vpd', async () => {
  const out: ScenarioSteps['inquiry-vpd'] = [];
  for (const lu of lus()) {
    const inq = await lu.readInquiry();
    const entry: ScenarioSteps['inquiry-vpd'][number] = {
      lun: lu.number,
      vendor: inq.vendor,
      product: inq.product,
      revision: inq.revision,
      version: inq.version,
      pages: {},
    };
    try {
      entry.supportedPages = await lu.vpdPages();
    } catch (error) {
      if (!(error instanceof ScsiCheckConditionError)) throw error;
      entry.vpdRejected = errorInfo(error);
    }
    const decoders: Record<number, () => Promise<unknown>> = {
      0x80: () => lu.serialNumber(),
      0x83: () => lu.deviceIdentification(),
      0xb0: () => lu.blockLimits(),
      0xb1: () => lu.blockDeviceCharacteristics(),
    };
    for (const page of entry.supportedPages ?? []) {
      const decode = decoders[page];
      if (!decode) continue;
      const key = `0x${page.toString(16)}`;
      try {
        entry.pages[key] = {
          ok: true,
          value: JSON.parse(JSON.stringify(await decode(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))),
        };
      } catch (error) {
        entry.pages[key] = { ok: false, error: errorInfo(error) };
      }
    }
    out.push(entry);
  }
  return out;
});

await step('read-capacity', async () => {
  const out: ScenarioSteps['read-capacity'] = [];
  for (const lu of lus()) out.push({ lun: lu.number, ...(await lu.readCapacity()) });
  return out;
});

await step('test-unit-ready', async () => {
  const out: ScenarioSteps['test-unit-ready'] = [];
  for (const lu of lus()) {
    try {
      await lu.testUnitReady();
      out.push({ lun: lu.number, ready: true });
    } catch (error) {
      out.push({ lun: lu.number, ready: false, error: errorInfo(error) });
    }
  }
  return out;
});

await step('mode-sense', async () => {
  const out: ScenarioSteps['mode-sense'] = [];
  for (const lu of lus()) {
    const mode = await lu.modeSense();
    out.push({ lun: lu.number, writeProtected: mode.writeProtected, mediumType: mode.mediumType, pages: mode.pages.map((p) => p.pageCode) });
  }
  return out;
});

await step('rejected-command', async () => {
  // READ(10) one block past the end: every SBC device must refuse it with ILLEGAL REQUEST,
  // LOGICAL BLOCK ADDRESS OUT OF RANGE (SBC-3 §4.5, 05/21/00).
  const lu = lus()[0];
  if (!lu) throw new Error('no LUN 0');
  const cap = lu.capacity ?? (await lu.readCapacity());
  const cdb = read10({ lba: cap.blocks, blocks: 1, blockSize: cap.blockSize }).cdb;
  const raw = await lu.execute({ cdb, direction: 'in', length: cap.blockSize });
  let thrown: ErrorInfo | null = null;
  try {
    await lu.run(read10({ lba: cap.blocks, blocks: 1, blockSize: cap.blockSize }));
  } catch (error) {
    thrown = errorInfo(error);
  }
  const outcome: CommandOutcome = { status: raw.status, residue: raw.residue, dataLength: raw.data.length };
  const sense = senseInfo(raw.sense);
  if (sense) outcome.sense = sense;
  return { raw: outcome, thrown };
});

await step('unsupported-opcode', async () => {
  // A vendor-specific opcode (group 6, 0xC0-0xDF) no emulated target implements: SPC-4 §4.5.6 says
  // ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (05/20/00).
  const lu = lus()[0];
  if (!lu) throw new Error('no LUN 0');
  const opcode = 0xc7;
  const raw = await lu.execute({ cdb: new Uint8Array([opcode, 0, 0, 0, 0, 0, 0, 0, 0, 0]), direction: 'none' });
  const outcome: CommandOutcome = { status: raw.status, residue: raw.residue, dataLength: raw.data.length };
  const sense = senseInfo(raw.sense);
  if (sense) outcome.sense = sense;
  return { opcode, raw: outcome };
});

await step('kernel-to-usbms', async () => {
  const out: ScenarioSteps['kernel-to-usbms'] = [];
  for (const lu of lus()) {
    const want = kernelPatterns.get(lu.number);
    if (!want) throw new Error(`the kernel-write step did not write LUN ${lu.number}`);
    out.push({ lun: lu.number, ...compare(want, await lu.read(KERNEL_REGION.lba, KERNEL_REGION.blocks)) });
  }
  return out;
});

await step('flush', async () => {
  // Write, then SYNCHRONIZE CACHE through usbms: QEMU counts the flush it received per drive.
  const out: ScenarioSteps['flush'] = [];
  for (const lu of lus()) {
    const data = random(USBMS_REGION.blocks * BLOCK);
    await lu.write(USBMS_REGION.lba, data);
    usbmsPatterns.set(lu.number, data);
    const drive = expected.driveIds?.[lu.number];
    const before = drive ? await flushCount(drive) : -1;
    await lu.flush();
    const after = drive ? await flushCount(drive) : -1;
    out.push({ drive: drive ?? '(no QEMU drive: gadget)', before, after });
  }
  return out;
});

await step('concurrency', async () => {
  // Many callers at once, each: write its own blocks, read them back, compare; plus callers that
  // interleave INQUIRY, TEST UNIT READY and READ CAPACITY. The queue serializes them on the wire.
  const units = lus();
  const failures: string[] = [];
  let operations = 0;
  const writers = Array.from({ length: 24 }, (_, i) => async () => {
    const lu = units[i % units.length];
    if (!lu) return;
    const lba = CONCURRENCY_BASE + i * 16;
    for (let round = 0; round < 2; round++) {
      const data = random(8 * BLOCK);
      await lu.write(lba, data);
      const back = await lu.read(lba, 8);
      operations += 2;
      const c = compare(data, back);
      if (!c.equal) failures.push(`caller ${i} LUN ${lu.number} LBA ${lba} round ${round}: differs at byte ${c.firstDifference}`);
    }
  });
  const inquirers = Array.from({ length: 8 }, (_, i) => async () => {
    const lu = units[i % units.length];
    if (!lu) return;
    for (let round = 0; round < 3; round++) {
      const inq = await lu.readInquiry();
      await lu.testUnitReady();
      const cap = await lu.readCapacity();
      operations += 3;
      if (inq.vendor !== expected.vendor) failures.push(`inquirer ${i}: vendor "${inq.vendor}"`);
      if (cap.blockSize !== BLOCK) failures.push(`inquirer ${i}: block size ${cap.blockSize}`);
    }
  });
  const settled = await Promise.allSettled([...writers, ...inquirers].map((f) => f()));
  for (const s of settled) if (s.status === 'rejected') failures.push(`caller threw: ${errorInfo(s.reason).message}`);
  // Still reading the status together with the CBW (TUR, WRITE)? False once the device stalled such a read.
  return { callers: writers.length + inquirers.length, operations, failures, luns: units.length, earlyStatus: device?.earlyStatus };
});

/** One line per trace event, for diagnosing recovery failures from scenario.json. */
function traceLine(e: TraceEvent): string {
  switch (e.type) {
    case 'command-start':
      return `#${e.id} start ${e.name} lun=${e.lun} ${e.direction} ${e.length}`;
    case 'cbw':
      return `#${e.id} cbw tag=0x${e.tag.toString(16)}`;
    case 'data':
      return `#${e.id} data-${e.direction} ${e.actual}/${e.requested} ${e.status} ${e.durationMs.toFixed(1)}ms`;
    case 'csw':
      return `#${e.id} csw tag=0x${e.tag.toString(16)} status=${e.status} residue=${e.residue}`;
    case 'sense':
      return `#${e.id} sense ${e.text}`;
    case 'recovery':
      return `#${e.id} recovery ${e.step} ${e.ok ? 'ok' : 'failed'}${e.detail ? ` (${e.detail})` : ''}`;
    case 'command-end':
      return `#${e.id} end ${e.outcome}${e.error ? ` ${e.error}` : ''}`;
    case 'quirks':
      return `quirks (${e.stage}): ${e.rules.join('; ') || 'no rule matched'}`;
  }
}

type UrbEvent = NonNullable<UsbfsTransport['timeline']>[number];

/**
 * Garbage collections of this process (start, duration, kind: 1 minor, 4 major, ...), recorded from the
 * start: a settle time that includes a collection's pause is told apart from one of usbms's own making.
 */
const collections: { t: number; ms: number; kind: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    collections.push({ t: e.startTime, ms: e.duration, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0 });
}).observe({ entryTypes: ['gc'] });

/** One timeline entry: when (performance.now()) and what. */
type Timed = { t: number; text: string };

/** The collections' pauses within [from, to] (ms, clipped), and their timeline entries. */
function gcDuring(from: number, to: number): { ms: number; entries: Timed[] } {
  const within = collections.filter((g) => g.t + g.ms >= from && g.t <= to);
  return {
    ms: within.reduce((sum, g) => sum + Math.min(to, g.t + g.ms) - Math.max(from, g.t), 0),
    entries: within.map((g) => ({ t: g.t, text: `gc kind=${g.kind} ${g.ms.toFixed(2)} ms` })),
  };
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** An interrupted read's trace events and URB submissions, discards and reaps, as timeline entries. */
function interruptionEntries(trace: TraceEvent[], urbs: UrbEvent[]): Timed[] {
  return [
    ...trace.map((e) => ({ t: e.time, text: traceLine(e) })),
    ...urbs.map((u) => ({
      t: u.t,
      text: `urb ${u.event} ep=0x${u.endpoint.toString(16)} ${u.length}${u.start === undefined ? '' : ` (call ${(u.t - u.start).toFixed(2)} ms)`}`,
    })),
  ];
}

const cpuText = (u: NodeJS.CpuUsage): string => `cpu user ${(u.user / 1000).toFixed(1)} ms, system ${(u.system / 1000).toFixed(1)} ms`;

/** Timeline entries in time order (ties keep their order), each as `+ms text` from `origin`. */
function renderTimeline(origin: number, entries: Timed[]): string[] {
  return [...entries].sort((a, b) => a.t - b.t).map((e) => `+${(e.t - origin).toFixed(2)} ${e.text}`);
}

type Interruption = {
  error: unknown;
  afterMs: number;
  settleLowMs?: number;
  /** From the abort, or the end of the time limit (upper bound), to the rejection: the settle time, and where garbage collections are counted. */
  settleWindow?: { from: number; to: number };
  /** The timeline's entries, shown in ms from `origin` (performance.now()). */
  timeline?: { origin: number; entries: Timed[] };
  cancelledUrbs?: number;
  /** The caller's buffer of the interrupted read and a copy taken when it settled. */
  buffer?: { into: Uint8Array; atRejection: Uint8Array };
};

/**
 * Interrupts a command with `interrupt`, then runs a TEST UNIT READY and a read of known data. The trace
 * (recovery steps, the lines for diagnosis) is watched from `watch()`, which `interrupt` calls when it
 * may: a read with a trace listener goes command by command instead of pipelined, so an abort of the
 * read as shipped starts the trace only once it has aborted (recovery comes after).
 */
async function recoveryObservation(interrupt: (lu: LogicalUnit, watch: () => void) => Promise<Interruption>): Promise<RecoveryObservation> {
  const lu = lus()[0];
  if (!lu || !device) throw new Error('no LUN 0');
  const traced = device;
  const recoverySteps: string[] = [];
  const trace: string[] = [];
  let off: (() => void) | undefined;
  const watch = (): void => {
    off ??= traced.onTrace((e) => {
      if (e.type === 'recovery') recoverySteps.push(`${e.step}:${e.ok ? 'ok' : 'failed'}`);
      trace.push(traceLine(e));
    });
  };
  const { error, afterMs, settleLowMs, settleWindow, timeline, cancelledUrbs, buffer } = await interrupt(lu, watch);
  watch();
  const rejected = performance.now();
  let nextTur: ErrorInfo | 'ok' = 'ok';
  try {
    await lu.testUnitReady();
  } catch (e) {
    nextTur = errorInfo(e);
  }
  const nextTurMs = Math.round(performance.now() - rejected);
  let nextRead: CompareResult | ErrorInfo;
  try {
    const want = kernelPatterns.get(0);
    if (!want) throw new Error('no kernel pattern for LUN 0');
    nextRead = compare(want, await lu.read(KERNEL_REGION.lba, KERNEL_REGION.blocks));
  } catch (e) {
    nextRead = errorInfo(e);
  }
  off?.();
  // Collections are reported asynchronously; the follow-up commands gave the observer its turns.
  const gc = settleWindow === undefined ? undefined : gcDuring(settleWindow.from, settleWindow.to);
  const changed = buffer === undefined ? undefined : buffer.into.findIndex((b, i) => b !== buffer.atRejection[i]);
  return {
    interrupted: error === undefined ? null : errorInfo(error),
    ...(changed === undefined ? {} : { bufferWrittenAfterAt: changed }),
    interruptedAfterMs: afterMs,
    ...(settleWindow === undefined ? {} : { settleMs: round1(settleWindow.to - settleWindow.from) }),
    ...(settleLowMs === undefined ? {} : { settleLowMs }),
    ...(gc === undefined ? {} : { settleGcMs: round1(gc.ms) }),
    ...(timeline === undefined ? {} : { timeline: renderTimeline(timeline.origin, [...timeline.entries, ...(gc?.entries ?? [])]) }),
    ...(cancelledUrbs === undefined ? {} : { cancelledUrbs }),
    nextTurMs,
    recoverySteps,
    nextTur,
    nextRead,
    state: device.state,
    trace: trace.slice(-80),
  };
}

await step('abort-recovery', async () =>
  recoveryObservation(async (lu, watch) => {
    // A large read into a buffer of the caller's, as shipped (pipelined, no trace listener), aborted
    // halfway through the time the same read took whole: the abort lands while a pipeline job's
    // transfers are on the wire (on usbfs each is discarded, DISCARDURB, and the caller is told once they
    // have ended; node-usb waits for its transfer to end and never copies its data). The trace starts
    // right after the abort, for the recovery that follows. Three pipeline jobs (16 commands each,
    // PIPELINE_COMMANDS in core): the abort may land in any of them, and the jobs after it must not
    // start. (Before the reaping let the event loop turn every few URBs, one job's stages could all be
    // reaped in one turn on an emulated controller that ends a transfer within its submission, and a
    // read of one job was never cut, seen on QEMU usb-bot.)
    const { blocks: capacity } = await lu.readCapacity();
    const blocks = Math.min(capacity, 3 * 16 * Math.floor((device?.maxTransferBytes ?? BLOCK) / BLOCK));
    const into = new Uint8Array(blocks * BLOCK);
    const whole = performance.now();
    await lu.read(0, blocks);
    const wholeMs = performance.now() - whole;
    const usbfs = device?.transport instanceof UsbfsTransport ? device.transport : undefined;
    const cancelledBefore = usbfs?.stats.cancelled ?? 0;
    // From the abort on: the URB events (DISCARDURB, reaps) and the CPU time, for where the settle time
    // went; nothing is recorded before it, so the read runs as shipped until then.
    const urbEvents: UrbEvent[] = [];
    let cpu: NodeJS.CpuUsage | undefined;
    let returnedAt: number | undefined;
    const { error, started, ended, abortedAt } = await abortMidway(
      wholeMs,
      (signal) => lu.read(0, blocks, { signal, into }),
      () => {
        returnedAt = performance.now();
        watch();
      },
      () => {
        cpu = process.cpuUsage();
        if (usbfs) usbfs.timeline = urbEvents;
      },
    );
    const cpuUsed = cpu === undefined ? undefined : process.cpuUsage(cpu);
    if (usbfs) usbfs.timeline = undefined;
    return {
      error,
      // Compared after the recovery and the next commands: never written once the read settled.
      buffer: { into, atRejection: into.slice() },
      afterMs: Math.round(ended - started),
      ...(abortedAt === undefined ? {} : { settleWindow: { from: abortedAt, to: ended } }),
      ...(usbfs === undefined ? {} : { cancelledUrbs: usbfs.stats.cancelled - cancelledBefore }),
      timeline: {
        origin: abortedAt ?? ended,
        entries: [
          ...interruptionEntries([], urbEvents),
          ...(returnedAt === undefined ? [] : [{ t: returnedAt, text: 'abort() returned' }]),
          { t: ended, text: 'rejected' },
          ...(cpuUsed === undefined ? [] : [{ t: ended, text: cpuText(cpuUsed) }]),
        ],
      },
    };
  }),
);

await step('timeout-recovery', async () => {
  // Per-command timeouts shorter than one maximum-size READ takes (the fastest of three measured): 1/8,
  // 1/4 and 1/2 of it, so the timeout lands at different points of a command (CBW just sent, data stage
  // early, data stage late). Each reads chunk by chunk, into a buffer of the caller's, until one times
  // out (bounded): on usbfs its caller is told once the transfers have ended (settleMs, from the end
  // of the time limit), and the buffer must not change after that.
  const lu = lus()[0];
  if (!lu || !device) throw new Error('no LUN 0');
  const chunkBlocks = Math.floor(device.maxTransferBytes / BLOCK);
  let chunkMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await lu.read(0, chunkBlocks);
    chunkMs = Math.min(chunkMs, performance.now() - t0);
  }
  const out: ScenarioSteps['timeout-recovery'] = [];
  for (const fraction of [8, 4, 2]) {
    let timeoutMs = Math.max(2, Math.floor(chunkMs / fraction));
    const into = new Uint8Array(chunkBlocks * BLOCK);
    const observation = await recoveryObservation(async (unit, watch) => {
      watch(); // one command at a time: traced or not, the same path
      const started = performance.now();
      // The timed-out read's events, for where its settle time went: the trace (its command's start,
      // stages and end) and, on usbfs, the URB timeline (submit, discard, reap).
      const usbfs = device?.transport instanceof UsbfsTransport ? device.transport : undefined;
      const events: TraceEvent[] = [];
      const off = device?.onTrace((e) => events.push(e));
      try {
        // If the machine got faster than when measured (2 shared cores), halve the timeout and go on.
        for (let attempt = 0; attempt < 3; attempt++) {
          for (let i = 0; i < 16; i++) {
            events.length = 0;
            if (usbfs) usbfs.timeline = [];
            const cpu = process.cpuUsage();
            const readStarted = performance.now();
            try {
              await unit.read(i * chunkBlocks, chunkBlocks, { timeoutMs, into });
            } catch (error) {
              const ended = performance.now();
              const commandStart = events.find((e) => e.type === 'command-start')?.time;
              return {
                error,
                afterMs: Math.round(ended - started),
                // The queue's time limit runs from the job's start: after the call (an upper bound),
                // before the command's trace start (a lower bound).
                settleWindow: { from: readStarted + timeoutMs, to: ended },
                ...(commandStart === undefined ? {} : { settleLowMs: round1(ended - commandStart - timeoutMs) }),
                timeline: {
                  origin: readStarted,
                  entries: [
                    ...interruptionEntries(events, usbfs?.timeline ?? []),
                    { t: ended, text: 'rejected' },
                    // CPU time of the process over the read, all its threads.
                    { t: ended, text: cpuText(process.cpuUsage(cpu)) },
                  ],
                },
                buffer: { into, atRejection: into.slice() },
              };
            }
          }
          timeoutMs = Math.max(1, Math.floor(timeoutMs / 2));
        }
      } finally {
        off?.();
        if (usbfs) usbfs.timeline = undefined;
      }
      return { error: undefined, afterMs: Math.round(performance.now() - started) };
    });
    out.push({ ...observation, timeoutMs });
  }
  return out;
});

await step('close-reattach', async () => {
  if (!device) throw new Error('the device is not open');
  // Dirty again so close() has something to flush (SYNCHRONIZE CACHE before release, BOT-agnostic).
  const lu = lus()[0];
  if (lu) {
    const data = usbmsPatterns.get(0);
    if (data) await lu.write(USBMS_REGION.lba, data);
  }
  const flushBefore = await driveFlushCounts();
  const started = performance.now();
  await device.close();
  const closeMs = Math.round(performance.now() - started);
  const flushAfter = await driveFlushCounts();
  device = undefined;
  const { state, waitedMs } = await waitForKernel(
    (s) => s.driver === (profile.transport === 'uas' ? 'uas' : 'usb-storage') && s.disks.length === lunCount,
    30_000,
  );
  return { closeMs, flushBefore, flushAfter, after: state, waitedMs };
});

await step('usbms-to-kernel', async () => {
  const state = kernelState();
  const out: ScenarioSteps['usbms-to-kernel'] = [];
  for (let lun = 0; lun < lunCount; lun++) {
    const want = usbmsPatterns.get(lun);
    if (!want) throw new Error(`usbms wrote nothing to LUN ${lun}`);
    const disk = diskOf(state, lun);
    out.push({ lun, disk, ...compare(want, ddRead(disk, USBMS_REGION.lba, USBMS_REGION.blocks)) });
  }
  return out;
});

const cliBundle = process.env.HIL_CLI_BUNDLE;
if (cliBundle) {
  await step('cli', async () => {
    const id = `${expected.vendorId.toString(16).padStart(4, '0')}:${expected.productId.toString(16).padStart(4, '0')}:${expected.serial}`;
    const dumpFile = '/tmp/hil-dump.img';
    const runs: Record<string, string[]> = {
      list: ['list', '--json'],
      inquiry: ['--device', id, 'inquiry', '--json'],
      capacity: ['--device', id, 'capacity', '--json'],
      'raw-inquiry': ['--device', id, 'raw', '12', '00', '00', '00', '24', '00', '--in', '36'],
      'raw-unsupported': ['--device', id, 'raw', 'c7', '00', '00', '00', '00', '00', '00', '00', '00', '00'],
      dump: ['--device', id, 'dump', '-o', dumpFile, '--lba', String(KERNEL_REGION.lba), '--count', String(KERNEL_REGION.blocks), '--overwrite'],
    };
    const out: ScenarioSteps['cli'] = {};
    for (const [name, args] of Object.entries(runs)) {
      const started = performance.now();
      const r = spawnSync(process.execPath, [cliBundle, ...args], { encoding: 'utf8', timeout: 120_000 });
      out[name] = { exitCode: r.status, stdout: r.stdout.slice(0, 20_000), stderr: r.stderr.slice(0, 5_000), ms: Math.round(performance.now() - started) };
      // Each invocation re-attaches the kernel driver on exit; let it settle before the next one.
      await waitForKernel((s) => s.disks.length === lunCount, 30_000);
    }
    const want = kernelPatterns.get(0);
    const dumped = fs.existsSync(dumpFile) ? new Uint8Array(fs.readFileSync(dumpFile)) : new Uint8Array(0);
    const c = want ? compare(want, dumped) : { bytes: 0, equal: false };
    out['dump-compare'] = { exitCode: c.equal ? 0 : 1, stdout: JSON.stringify({ ...c, sha: sha(dumped) }), stderr: '', ms: 0 };
    return out;
  });
}

await step('hot-unplug', async () => {
  device = await openIt();
  const lu = lus()[0];
  if (!lu) throw new Error('no LUN 0');
  const outcomes: ScenarioSteps['hot-unplug']['outcomes'] = [];
  let unplugAt = 0;
  const track = (name: string, p: Promise<unknown>): Promise<void> => {
    const entry: (typeof outcomes)[number] = { name, settled: 'pending' };
    outcomes.push(entry);
    return p.then(
      () => {
        entry.settled = 'resolved';
        entry.atMs = Math.round(performance.now() - unplugAt);
      },
      (error: unknown) => {
        entry.settled = 'rejected';
        entry.code = errorInfo(error).code ?? errorInfo(error).name;
        entry.atMs = Math.round(performance.now() - unplugAt);
      },
    );
  };
  // The long read starts; once its first data stage is done, queue more work and pull the plug.
  let firstData: () => void = () => undefined;
  const dataFlowing = new Promise<void>((resolve) => (firstData = resolve));
  const off = device?.onTrace((e) => {
    if (e.type === 'data' && e.direction === 'in') firstData();
  });
  const all: Promise<void>[] = [track('long read (in flight)', lu.read(0, LONG_READ_BLOCKS))];
  await dataFlowing;
  off?.();
  for (let i = 0; i < 4; i++) all.push(track(`queued read ${i}`, lu.read(KERNEL_REGION.lba, KERNEL_REGION.blocks)));
  all.push(track('queued TEST UNIT READY', lu.testUnitReady()));
  all.push(track('queued INQUIRY', lu.readInquiry()));
  unplugAt = performance.now();
  const trigger: ScenarioSteps['hot-unplug']['trigger'] = isGadget ? 'gadget-unbind' : 'qmp-device-del';
  if (isGadget) {
    // Unbinding the gadget from its UDC is the guest-side equivalent of pulling the cable.
    fs.writeFileSync('/sys/kernel/config/usb_gadget/hil/UDC', '\n');
  } else {
    await callHost({ op: 'device-del', id: expected.qdevId ?? '', waitDeleted: false });
  }
  const bound = 20_000;
  const settledAll = await Promise.race([Promise.all(all).then(() => true), sleep(bound).then(() => false)]);
  const settleMs = settledAll ? Math.max(0, ...outcomes.map((o) => o.atMs ?? 0)) : null;
  let afterCommand: ErrorInfo | null = null;
  try {
    await lu.testUnitReady();
  } catch (error) {
    afterCommand = errorInfo(error);
  }
  const state = device?.state ?? 'unknown';
  const closeStarted = performance.now();
  await device?.close();
  return { trigger, settleMs, outcomes, afterCommand, state, closeMs: Math.round(performance.now() - closeStarted) };
});

console.log('[scenario] finished');
// node-usb may keep a hotplug watcher alive; the scenario is over.
process.exit(0);
