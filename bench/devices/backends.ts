// Backend benchmark, run inside the HIL guest (bundled on the host by run.ts --backends). One boot, one
// device: the kernel (dd O_DIRECT at 120K and 1M, sg_turs), then usbms on each backend in turn, A-B-A-B
// (usbfs, usb, usbfs, usb: load drifts within a boot), then the kernel again. Every usbms pass opens the
// device as shipped (no options beyond the backend) and runs TEST UNIT READY, then reads and writes of
// the volume in 120 KiB and 1 MiB calls (split by usbms at its default command size: 120 KiB below
// SuperSpeed, 1 MiB at SuperSpeed, as Linux). On usbfs it also counts the main thread's and the reaper
// thread's wake-ups per command and the time a completion spends between the threads. Each pass measures
// twice: first use (right after open) and steady state (after BENCH_WARM commands of each kind).
// Writes $HIL_OUT/backends.json; run.ts prints the tables.
import type { LogicalUnit, MscDevice } from '../../packages/core/src/index.js';
import { COMMANDS_PER_CALL } from '../../packages/node/src/cli/units.js';
import { type Backend, listDevices, openDevice, UsbfsTransport } from '../../packages/node/src/index.js';
import { writeResult } from '../../test/hil/guest/host.js';
import { BLOCK, env, expected, isGadget, KiB, MiB, profile } from './guest-config.js';
import { kernelThroughput, kernelTur } from './kernel-side.js';
import { quantile } from './stats.js';
import { kernelDevices } from './sysfs.js';
import type { BackendPass, BackendsResult } from './types.js';

const VOLUME = env('BENCH_MIB', isGadget ? 8 : 16) * MiB;
const TUR_COUNT = env('BENCH_TURS', 300);
const ROUNDS = env('BENCH_ROUNDS', 2);
/** Commands of each kind run before the steady-state measurements (0: none). */
const WARM_COMMANDS = env('BENCH_WARM', 1500);
const BACKENDS: Backend[] = ['usbfs', 'usb'];
const result: BackendsResult = {
  profile: profile.name,
  node: process.version,
  description: profile.description,
  volumeBytes: VOLUME,
  kernel: [],
  kernelTur: [],
  passes: [],
  notes: [],
};
const save = (): void => writeResult('backends.json', result);
const log = (s: string): void => console.log(`[backends ${profile.name}] ${s}`);

function kernelPass(pass: number, disk: string, sg: string): void {
  result.kernel.push(...kernelThroughput(disk, VOLUME, pass, log));
  const tur = kernelTur(sg, TUR_COUNT);
  result.kernelTur.push(tur);
  log(`kernel pass ${pass} sg_turs: ${tur.meanUs.toFixed(0)} us mean`);
}

/** Wake-up counters of a usbfs transport (zeros on the usb backend, which has none to read). */
function counters(device: MscDevice): { wakeups: number; reaper: number; handoffMs: number; urbs: number; mainReaps: number; handOffs: number } {
  const t = device.transport;
  if (!(t instanceof UsbfsTransport)) return { wakeups: 0, reaper: 0, handoffMs: 0, urbs: 0, mainReaps: 0, handOffs: 0 };
  const s = t.stats;
  return { wakeups: s.wakeups, reaper: s.reaperWakeups, handoffMs: s.handoffMs, urbs: s.urbs, mainReaps: s.mainThreadReaps, handOffs: s.handOffs };
}

async function measure<T>(device: MscDevice, commands: number, body: () => Promise<T>): Promise<{ ms: number; perCommand: BackendPass['tur']['perCommand'] }> {
  const before = counters(device);
  const started = performance.now();
  await body();
  const ms = performance.now() - started;
  const after = counters(device);
  return {
    ms,
    perCommand: {
      mainWakeups: (after.wakeups - before.wakeups) / commands,
      reaperWakeups: (after.reaper - before.reaper) / commands,
      handoffUs: after.wakeups > before.wakeups ? ((after.handoffMs - before.handoffMs) * 1000) / (after.wakeups - before.wakeups) : 0,
      urbs: (after.urbs - before.urbs) / commands,
      mainReaps: (after.mainReaps - before.mainReaps) / commands,
      handOffs: (after.handOffs - before.handOffs) / commands,
    },
  };
}

type IoResult = BackendPass['io'];

/** The CLI's call (`usbms bench`, `read`, `dump`): 16 commands of the default size, one pipeline job. */
const cliCallBytes = (device: MscDevice): number => Math.min(VOLUME, COMMANDS_PER_CALL * device.maxTransferBytes);

const wakeText = (c: BackendPass['tur']['perCommand']): string =>
  `wake-ups/cmd main ${c.mainWakeups.toFixed(2)} reaper ${c.reaperWakeups.toFixed(2)}, hand-off ${c.handoffUs.toFixed(0)} us`;

/** TUR_COUNT TEST UNIT READY, each timed. */
async function measureTur(device: MscDevice, lu: LogicalUnit): Promise<BackendPass['tur']> {
  const samples: number[] = [];
  const tur = await measure(device, TUR_COUNT, async () => {
    for (let i = 0; i < TUR_COUNT; i++) {
      const t = performance.now();
      await lu.testUnitReady();
      samples.push(performance.now() - t);
    }
  });
  const pct = (q: number): number => quantile(samples, q) * 1000;
  return { meanUs: (tur.ms * 1000) / TUR_COUNT, p50Us: pct(0.5), p10Us: pct(0.1), p90Us: pct(0.9), perCommand: tur.perCommand };
}

/** The volume written then read in 120 KiB, 1 MiB and the CLI's calls (16 commands of the default size). */
async function measureIo(device: MscDevice, lu: LogicalUnit, label: string): Promise<IoResult> {
  const io: IoResult = [];
  const cliCall = cliCallBytes(device);
  for (const size of [120 * KiB, MiB, cliCall]) {
    const cli = size === cliCall;
    const blocks = size / BLOCK;
    const calls = Math.floor(VOLUME / size);
    // Touched before timing: the first write into fresh memory faults in every page (costly under TCG),
    // which the kernel's `dd` (one buffer, reused) never pays inside its figure.
    const buffer = new Uint8Array(size).fill(0xa5);
    const commandsPerCall = Math.ceil(size / device.maxTransferBytes);
    for (const op of ['write', 'read'] as const) {
      const m = await measure(device, calls * commandsPerCall, async () => {
        for (let i = 0; i < calls; i++) {
          if (op === 'read') await lu.read(i * blocks, blocks, { into: buffer });
          else await lu.write(i * blocks, buffer);
        }
      });
      const bytes = calls * size;
      io.push({
        op,
        ...(cli ? { cli: true } : {}),
        callBytes: size,
        bytes,
        mbps: bytes / (m.ms / 1000) / 1e6,
        msPerCommand: m.ms / (calls * commandsPerCall),
        perCommand: m.perCommand,
      });
      log(`${label}: ${op} ${size / KiB} KiB calls${cli ? ' (CLI)' : ''}: ${(bytes / (m.ms / 1000) / 1e6).toFixed(1)} MB/s; ${wakeText(m.perCommand)}`);
    }
  }
  return io;
}

/**
 * WARM_COMMANDS each of TEST UNIT READY, reads and writes (the CLI's calls, over the volume again and
 * again): V8 compiles a function with its optimizing compiler only once it has run for a while, and the
 * stack's per-command path takes ~1000-1500 commands to get there (seconds in a TCG guest, whose
 * compiler thread shares two vCPUs with the device's emulation).
 */
async function warmUp(device: MscDevice, lu: LogicalUnit): Promise<void> {
  for (let i = 0; i < WARM_COMMANDS; i++) await lu.testUnitReady();
  const size = cliCallBytes(device);
  const blocks = size / BLOCK;
  const calls = Math.ceil(WARM_COMMANDS / Math.ceil(size / device.maxTransferBytes));
  const perVolume = Math.floor(VOLUME / size);
  const buffer = new Uint8Array(size);
  for (let i = 0; i < calls; i++) await lu.write((i % perVolume) * blocks, buffer);
  for (let i = 0; i < calls; i++) await lu.read((i % perVolume) * blocks, blocks, { into: buffer });
}

async function usbmsPass(backend: Backend, round: number): Promise<void> {
  await kernelDevices(expected.serial, 30_000);
  const [info] = await listDevices({ serialNumber: expected.serial });
  if (!info) throw new Error(`listDevices() did not find ${expected.serial}`);
  const device = await openDevice(info, { backend, defaultTimeoutMs: 120_000 });
  try {
    const lu: LogicalUnit = device.lun(0);
    await lu.readCapacity();
    for (let i = 0; i < 20; i++) await lu.testUnitReady();
    // First use: the process's first commands after open, as a short script or one CLI call runs them.
    const tur = await measureTur(device, lu);
    log(`${backend} #${round}: TUR p50 ${tur.p50Us.toFixed(0)} us (mean ${tur.meanUs.toFixed(0)}); ${wakeText(tur.perCommand)}`);
    const pass: BackendPass = { backend, round, maxTransferBytes: device.maxTransferBytes, tur, io: await measureIo(device, lu, `${backend} #${round}`) };
    result.passes.push(pass);
    save();
    // Steady state: the same again once V8 has optimized the path, as a long-running program sees it.
    if (WARM_COMMANDS > 0) {
      const started = performance.now();
      await warmUp(device, lu);
      const warmTur = await measureTur(device, lu);
      log(
        `${backend} #${round} warm (${((performance.now() - started) / 1000).toFixed(1)} s of warm-up): TUR p50 ${warmTur.p50Us.toFixed(0)} us; ${wakeText(warmTur.perCommand)}`,
      );
      pass.warm = { afterCommands: WARM_COMMANDS, tur: warmTur, io: await measureIo(device, lu, `${backend} #${round} warm`) };
      save();
    }
  } finally {
    await device.close();
  }
}

const t0 = performance.now();
const first = await kernelDevices(expected.serial, 30_000);
kernelPass(1, first.disk, first.sg);
save();
for (let round = 1; round <= ROUNDS; round++) {
  for (const backend of BACKENDS) {
    try {
      await usbmsPass(backend, round);
    } catch (error) {
      result.notes.push(`${backend} #${round} failed: ${error instanceof Error ? error.message : String(error)}`);
      log(`${backend} #${round} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    }
  }
}
const last = await kernelDevices(expected.serial, 30_000);
kernelPass(2, last.disk, last.sg);
result.totalSeconds = (performance.now() - t0) / 1000;
save();
log(`done in ${result.totalSeconds.toFixed(0)} s`);
process.exit(process.exitCode ?? 0);
