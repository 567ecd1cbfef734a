// Where does a command's time go? Runs in the HIL guest (bundled by diag-run.ts): per-stage timings of
// TEST UNIT READY and READ(10) through usbms (trace events) and through raw node-usb calls, and whether
// the status stage can be submitted before the CBW completes on this device.
import { encodeCbw } from '../../packages/core/src/bot/wrappers.js';
import type { TraceEvent } from '../../packages/core/src/index.js';
import { listDevices, NodeUsbTransport, openDevice } from '../../packages/node/src/index.js';
import { hilProfile, writeResult } from '../../test/hil/guest/host.js';
import { getProfile } from '../../test/hil/profiles.js';
import { bulkEndpoints } from './endpoints.js';
import { quantile } from './stats.js';

const profile = getProfile(hilProfile());
const N = Number(process.env.DIAG_N ?? '50');
const out: Record<string, unknown> = { profile: profile.name };
const log = (s: string): void => console.log(`[diag ${profile.name}] ${s}`);
const stats = (xs: number[]): string => {
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return `mean ${mean.toFixed(2)} p50 ${quantile(xs, 0.5).toFixed(2)} p90 ${quantile(xs, 0.9).toFixed(2)} min ${quantile(xs, 0).toFixed(2)} ms`;
};

const [info] = await listDevices({ serialNumber: profile.expect.serial });
if (!info) throw new Error('device not found');
const device = await openDevice(info, { defaultTimeoutMs: 60_000, watchDisconnect: process.env.DIAG_WATCH !== '0', maxTransferBytes: 4 << 20 });
log(`watchDisconnect: ${process.env.DIAG_WATCH !== '0'}`);
const lu = device.lun(0);
await lu.readCapacity();
const transport = device.transport;
if (!(transport instanceof NodeUsbTransport)) throw new Error('not a NodeUsbTransport');
const usb = transport.device;

// 1. usbms TUR with stage timings from the trace.
const events: TraceEvent[] = [];
const off = device.onTrace((e) => events.push(e));
const totals: number[] = [];
for (let i = 0; i < N; i++) {
  const t = performance.now();
  await lu.testUnitReady();
  totals.push(performance.now() - t);
}
off();
log(`usbms TUR total: ${stats(totals)}`);
const cswDur = events.filter((e): e is Extract<TraceEvent, { type: 'csw' }> => e.type === 'csw').map((e) => e.durationMs ?? 0);
log(`usbms TUR csw stage: ${stats(cswDur)}`);
out.usbmsTur = totals;

// 2. raw node-usb TUR (no usbms layers): CBW out, CSW in, sequential.
const eps = bulkEndpoints(transport);
if (!eps) throw new Error('no endpoints');
const inEp = eps.in.endpointNumber;
const outEp = eps.out.endpointNumber;
let tag = 0x1000;
const cbw = (len: number, dirIn: boolean, cdb: number[]): Uint8Array =>
  encodeCbw({ tag: ++tag, dataTransferLength: len, direction: dirIn ? 'in' : 'out', lun: 0, cdb: Uint8Array.from(cdb) });
const outT: number[] = [];
const inT: number[] = [];
const rawT: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  await usb.nativeTransferOut(outEp, 10_000, cbw(0, false, [0, 0, 0, 0, 0, 0]));
  const t1 = performance.now();
  await usb.nativeTransferIn(inEp, 10_000, 13);
  const t2 = performance.now();
  outT.push(t1 - t0);
  inT.push(t2 - t1);
  rawT.push(t2 - t0);
}
log(`raw TUR total: ${stats(rawT)}; cbw ${stats(outT)}; csw ${stats(inT)}`);
out.rawTur = rawT;

// 3. raw TUR, CSW IN submitted right after the CBW is submitted (both pending together).
const ovT: number[] = [];
let ovErrors = 0;
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const o = usb.nativeTransferOut(outEp, 10_000, cbw(0, false, [0, 0, 0, 0, 0, 0]));
  const inP = usb.nativeTransferIn(inEp, 10_000, 13).then(
    (v) => v,
    (e: unknown) => e,
  );
  await o;
  const r = await inP;
  if (r instanceof Error) {
    ovErrors++;
    if (ovErrors <= 2) log(`overlapped CSW error: ${r.message}`);
    await usb.clearHalt('in', inEp).catch(() => undefined);
    await usb.nativeTransferIn(inEp, 10_000, 13).catch(() => undefined);
  }
  ovT.push(performance.now() - t0);
}
log(`raw TUR overlapped: ${stats(ovT)}; errors ${ovErrors}/${N}`);
out.overlapTur = { times: ovT, errors: ovErrors };

// 4. raw READ(10) 64 KiB: cbw, data, csw stage times; then data+csw overlapped variants.
const readCdb = (lba: number, blocks: number): number[] => [
  0x28,
  0,
  (lba >>> 24) & 255,
  (lba >>> 16) & 255,
  (lba >>> 8) & 255,
  lba & 255,
  0,
  (blocks >> 8) & 255,
  blocks & 255,
  0,
];
for (const size of [64 << 10, 1 << 20]) {
  const c: number[] = [];
  const d: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < Math.min(N, 20); i++) {
    const t0 = performance.now();
    await usb.nativeTransferOut(outEp, 10_000, cbw(size, true, readCdb(i * (size / 512), size / 512)));
    const t1 = performance.now();
    await usb.nativeTransferIn(inEp, 10_000, size);
    const t2 = performance.now();
    await usb.nativeTransferIn(inEp, 10_000, 13);
    const t3 = performance.now();
    c.push(t1 - t0);
    d.push(t2 - t1);
    s.push(t3 - t2);
  }
  log(`raw READ ${size >> 10} KiB: cbw ${stats(c)}; data ${stats(d)}; csw ${stats(s)}`);
  // usbms read of the same size
  const u: number[] = [];
  const buf = new Uint8Array(size);
  for (let i = 0; i < Math.min(N, 20); i++) {
    const t0 = performance.now();
    await lu.read(i * (size / 512), size / 512, { into: buf });
    u.push(performance.now() - t0);
  }
  log(`usbms READ ${size >> 10} KiB: ${stats(u)}`);
}

// 5. usbms TUR vs raw TUR interleaved (after warm-up, no trace listener), with node-usb calls counted.
{
  let calls = 0;
  const u = usb as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['nativeTransferIn', 'nativeTransferOut', 'nativeControlTransferIn', 'nativeControlTransferOut', 'clearHalt'] as const) {
    const original = u[name];
    if (typeof original !== 'function') continue;
    u[name] = (...a: unknown[]): unknown => {
      calls++;
      return original.apply(usb, a);
    };
  }
  const rawTurOnce = async (): Promise<void> => {
    await usb.nativeTransferOut(outEp, 10_000, cbw(0, false, [0, 0, 0, 0, 0, 0]));
    await usb.nativeTransferIn(inEp, 10_000, 13);
  };
  for (let i = 0; i < 30; i++) {
    await lu.testUnitReady();
    await rawTurOnce();
  }
  const us: number[] = [];
  const raw: number[] = [];
  let usCalls = 0;
  for (let round = 0; round < 4; round++) {
    const c0 = calls;
    for (let i = 0; i < 25; i++) {
      const t = performance.now();
      await lu.testUnitReady();
      us.push(performance.now() - t);
    }
    usCalls += calls - c0;
    for (let i = 0; i < 25; i++) {
      const t = performance.now();
      await rawTurOnce();
      raw.push(performance.now() - t);
    }
  }
  log(`interleaved, warm: usbms TUR ${stats(us)} (${(usCalls / us.length).toFixed(2)} node-usb calls/TUR); raw TUR ${stats(raw)}`);
  out.interleaved = { usbms: us, raw };
}

// 6. CPU profile of 100 usbms TURs (written to $HIL_OUT/tur.cpuprofile).
{
  const inspector = await import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  const t = performance.now();
  for (let i = 0; i < 100; i++) await lu.testUnitReady();
  const ms = performance.now() - t;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  writeResult('tur.cpuprofile', profile);
  log(`profiled 100 usbms TURs: ${(ms / 100).toFixed(2)} ms each`);
  await post('Profiler.start');
  const t2 = performance.now();
  for (let i = 0; i < 100; i++) {
    await usb.nativeTransferOut(outEp, 10_000, cbw(0, false, [0, 0, 0, 0, 0, 0]));
    await usb.nativeTransferIn(inEp, 10_000, 13);
  }
  const ms2 = performance.now() - t2;
  const raw = (await post('Profiler.stop')) as { profile: unknown };
  writeResult('raw-tur.cpuprofile', raw.profile);
  log(`profiled 100 raw TURs: ${(ms2 / 100).toFixed(2)} ms each`);
  session.disconnect();
}

// 7. event loop responsiveness: a resolved-promise hop and a setImmediate hop.
{
  const hops: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await new Promise((r) => setImmediate(r));
    hops.push(performance.now() - t);
  }
  log(`setImmediate hop: ${stats(hops)}`);
}
writeResult('diag.json', out);
await device.close();
process.exit(0);
