// Where a usbfs command's time goes, run inside the HIL guest (bundled on the host by hops-run.ts).
// One boot, one device. TEST UNIT READY and 120 KiB READ(10) are timed, each as:
//   sync     SUBMITURB, then blocking REAPURB on the calling thread (the floor of any Node stack);
//   poll     SUBMITURB, then REAPURBNDELAY on the main thread between event-loop turns (setImmediate);
//   reaper   SUBMITURB, then the reaper thread's poll(2) + one post to the main thread;
//   usbms    the usbfs backend as shipped (`lu.testUnitReady()`, `lu.read()`).
// Writes $HIL_OUT/hops.json and prints a table.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { BotEngine } from '../../packages/core/src/bot/engine.js';
import { encodeCbw } from '../../packages/core/src/bot/wrappers.js';
import { openDevice, openTransport, type UsbfsTransport } from '../../packages/node/src/index.js';
import {
  DisconnectClaimFlag,
  decodeUrbCompletion,
  Errno,
  encodeDisconnectClaim,
  encodeIoctl,
  encodeU32,
  encodeUrb,
  UrbType,
  UsbfsIoctl,
  UsbfsSize,
} from '../../packages/node/src/usbfs/abi.js';
import { loadUsbfsSys, URB_CONTEXT_HOLD } from '../../packages/node/src/usbfs/sys.js';
import type { UrbEvent } from '../../packages/node/src/usbfs/urbs.js';
import { hilProfile, writeResult } from '../../test/hil/guest/host.js';
import { getProfile } from '../../test/hil/profiles.js';
import { median, quantile } from './stats.js';
import { interfaceSysfs } from './sysfs.js';

const profile = getProfile(hilProfile());
const N = Number(process.env.HOPS_N ?? 200);
const READ_BLOCKS = Number(process.env.HOPS_BLOCKS ?? 240);
const MODES = (process.env.HOPS_MODES ?? 'sync,poll,reaper,layers,usbms').split(',');
const rd10 = (): Uint8Array => new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, (READ_BLOCKS >> 8) & 0xff, READ_BLOCKS & 0xff, 0]);
const log = (s: string): void => console.log(`[hops ${profile.name}] ${s}`);

/** The device's usbfs node numbers, interface and bulk endpoints, from sysfs. */
function findDevice(): { bus: number; dev: number; iface: number; epIn: number; epOut: number } {
  const dir = interfaceSysfs(profile.expect.serial);
  const parent = path.dirname(dir);
  const addrs = fs
    .readdirSync(dir)
    .filter((e) => /^ep_[0-9a-f]{2}$/.test(e))
    .map((e) => Number.parseInt(e.slice(3), 16));
  return {
    bus: Number(fs.readFileSync(path.join(parent, 'busnum'), 'utf8')),
    dev: Number(fs.readFileSync(path.join(parent, 'devnum'), 'utf8')),
    iface: Number.parseInt(fs.readFileSync(path.join(dir, 'bInterfaceNumber'), 'utf8'), 16),
    epIn: addrs.find((a) => a & 0x80) ?? 0x81,
    epOut: addrs.find((a) => !(a & 0x80)) ?? 0x02,
  };
}

const p = quantile;

const load = loadUsbfsSys();
if (!load.ok) throw new Error(load.reason);
const sys = load.sys;
const d = findDevice();
const devPath = `/dev/bus/usb/${String(d.bus).padStart(3, '0')}/${String(d.dev).padStart(3, '0')}`;
const fd = sys.open(devPath);
if (fd < 0) throw new Error(`open ${devPath}: errno ${-fd}`);
let rc = sys.ioctl(fd, UsbfsIoctl.DISCONNECT_CLAIM, encodeDisconnectClaim(d.iface, DisconnectClaimFlag.EXCEPT_DRIVER, 'usbfs'));
if (rc < 0) throw new Error(`DISCONNECT_CLAIM: errno ${-rc}`);

const slab = new Uint8Array(new SharedArrayBuffer(UsbfsSize.urb * 4));

const urbAt = (i: number): Uint8Array => slab.subarray(i * UsbfsSize.urb, (i + 1) * UsbfsSize.urb);
const cbwBuf = new Uint8Array(31);
const cswBuf = new Uint8Array(13);
const dataBuf = new Uint8Array(READ_BLOCKS * 512);
const out = new Uint8Array(8);
let tag = 1;

function submit(slot: number, endpoint: number, buffer: Uint8Array, hold: boolean): void {
  encodeUrb(urbAt(slot), {
    type: UrbType.BULK,
    endpoint,
    flags: 0,
    buffer: sys.addressOf(buffer),
    bufferLength: buffer.length,
    usercontext: hold ? URB_CONTEXT_HOLD : 0n,
  });
  const r = sys.ioctl(fd, UsbfsIoctl.SUBMITURB, urbAt(slot));
  if (r < 0) throw new Error(`SUBMITURB: errno ${-r}`);
}

/**
 * A command's URBs in stages: with `early` (devices that NAK an IN token before they have data,
 * like f_mass_storage) CBW, data-in and CSW go together; otherwise (QEMU's usb-storage stalls an
 * early IN token, and its xHCI leaves a transfer queued behind an asynchronous one) one stage at a time.
 */
const early = profile.implementation === 'linux-gadget';
function stages(kind: 'tur' | 'read', hold: boolean): (() => number)[] {
  const cdb = kind === 'tur' ? new Uint8Array(6) : rd10();
  const cbw = (): number => {
    encodeCbw({ tag: tag++, dataTransferLength: kind === 'tur' ? 0 : dataBuf.length, direction: 'in', lun: 0, cdb }, cbwBuf);
    submit(0, d.epOut, cbwBuf, hold && early);
    return 1;
  };
  const data = (): number => {
    if (kind !== 'read') return 0;
    submit(1, d.epIn, dataBuf, hold && early);
    return 1;
  };
  const status = (): number => {
    submit(2, d.epIn, cswBuf, false);
    return 1;
  };
  // Without early IN tokens, each stage after the previous one (as Linux's usb-storage does).
  return early ? [() => cbw() + data() + status()] : [cbw, data, status];
}

function checkCsw(): void {
  const c = decodeUrbCompletion(urbAt(2));
  if (c.status !== 0 || c.actualLength !== 13 || cswBuf[12] !== 0) throw new Error(`CSW status ${c.status} len ${c.actualLength} bCSWStatus ${cswBuf[12]}`);
}

async function timeIt(label: string, fn: () => Promise<void> | void): Promise<{ label: string; p10: number; p50: number; p90: number }> {
  for (let i = 0; i < 10; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const r = { label, p10: p(times, 0.1), p50: median(times), p90: p(times, 0.9) };
  log(`${label.padEnd(22)} p10 ${r.p10.toFixed(3)} p50 ${r.p50.toFixed(3)} p90 ${r.p90.toFixed(3)} ms`);
  return r;
}

const results: unknown[] = [];
for (const kind of ['tur', 'read'] as const) {
  if (MODES.includes('sync'))
    results.push(
      await timeIt(`${kind} sync`, () => {
        for (const stage of stages(kind, false)) {
          const n = stage();
          for (let i = 0; i < n; i++) {
            for (;;) {
              const r = sys.ioctl(fd, UsbfsIoctl.REAPURB, out);
              if (r >= 0) break;
              if (-r !== Errno.EINTR) throw new Error(`REAPURB errno ${-r}`);
            }
          }
        }
        checkCsw();
      }),
    );
  if (MODES.includes('poll'))
    results.push(
      await timeIt(`${kind} poll`, async () => {
        const t0 = performance.now();
        for (const stage of stages(kind, false)) {
          let n = stage();
          while (n > 0) {
            const r = sys.ioctl(fd, UsbfsIoctl.REAPURBNDELAY, out);
            if (r >= 0) {
              n--;
              continue;
            }
            if (-r !== Errno.EAGAIN) throw new Error(`REAPURBNDELAY errno ${-r}`);
            if (performance.now() - t0 > 5000) {
              const urbs = [0, 1, 2].map((i) => decodeUrbCompletion(urbAt(i)));
              throw new Error(`${kind} poll: ${n} URB(s) not completed after 5 s: ${JSON.stringify(urbs)}`);
            }
            await turn();
          }
        }
        checkCsw();
      }),
    );
}

// The reaper thread: the same URBs, completions posted to this thread (held: once per stage).
let pending: (() => void) | undefined;
let want = 0;
const reaper = sys.startReaper(fd, slab, (event) => {
  want -= event.reaped.length;
  if (want <= 0) pending?.();
});
reaper.ref(true);
reaper.watch(true);
for (const kind of MODES.includes('reaper') ? (['tur', 'read'] as const) : []) {
  results.push(
    await timeIt(`${kind} reaper`, async () => {
      for (const stage of stages(kind, true)) {
        const done = new Promise<void>((resolve) => {
          pending = resolve;
        });
        want = stage();
        await done;
      }
      checkCsw();
    }),
  );
}
reaper.ref(false);
await reaper.stop();
rc = sys.ioctl(fd, UsbfsIoctl.RELEASEINTERFACE, encodeU32(d.iface));
for (let i = 0; i < 10; i++) {
  rc = sys.ioctl(fd, UsbfsIoctl.IOCTL, encodeIoctl(d.iface, UsbfsIoctl.CONNECT));
  if (rc >= 0 || -rc !== Errno.EBUSY) break;
  await new Promise((r) => setTimeout(r, 100));
}
sys.close(fd);
await new Promise((r) => setTimeout(r, 1500));

// The usbfs transport alone, then the engine over it.
if (MODES.includes('layers')) {
  const transport = await openTransport({ serialNumber: profile.expect.serial }, { backend: 'usbfs' });
  const opts = { timeoutMs: 5000 };
  const cdb = new Uint8Array(6);
  results.push(
    await timeIt('tur transport', async () => {
      encodeCbw({ tag: tag++, dataTransferLength: 0, direction: 'in', lun: 0, cdb }, cbwBuf);
      const csw = early
        ? (await Promise.all([transport.bulkOut(cbwBuf, opts), transport.bulkIn(13, { ...opts, into: cswBuf })]))[1]
        : await transport.bulkOut(cbwBuf, opts).then(() => transport.bulkIn(13, { ...opts, into: cswBuf }));
      if (csw.status !== 'ok' || csw.data.length !== 13) throw new Error('bad CSW');
    }),
  );
  // Where the transport-level time goes: CBW submit -> CBW done -> status done.
  const cbwMs: number[] = [];
  const cswMs: number[] = [];
  for (let i = 0; i < N; i++) {
    encodeCbw({ tag: tag++, dataTransferLength: 0, direction: 'in', lun: 0, cdb }, cbwBuf);
    const t0 = performance.now();
    await transport.bulkOut(cbwBuf, opts);
    const t1 = performance.now();
    await transport.bulkIn(13, { ...opts, into: cswBuf });
    const t2 = performance.now();
    cbwMs.push(t1 - t0);
    cswMs.push(t2 - t1);
  }
  log(`tur transport stages: CBW p50 ${median(cbwMs).toFixed(3)} ms, status p50 ${median(cswMs).toFixed(3)} ms`);
  const engine = new BotEngine(transport);
  log(`engine earlyStatus before: ${engine.earlyStatus}`);
  results.push(await timeIt('tur engine', () => engine.command({ lun: 0, cdb, direction: 'none', length: 0, timeoutMs: 5000 }).then(() => undefined)));
  log(`engine earlyStatus after: ${engine.earlyStatus}`);
  const rd = rd10();
  results.push(
    await timeIt('read engine', () =>
      engine.command({ lun: 0, cdb: rd, direction: 'in', length: dataBuf.length, into: dataBuf, timeoutMs: 5000 }).then(() => undefined),
    ),
  );
  log(`transport stats ${JSON.stringify((transport as UsbfsTransport).stats)}`);
  await transport.close();
  await new Promise((r) => setTimeout(r, 1500));
}
// usbms on the usbfs backend: as shipped, then with every completion left to the reaper thread.
for (const [label, options] of MODES.includes('usbms')
  ? ([
      ['usbms', {}],
      ['usbms reaper-only', { mainThreadReapMs: 0 }],
    ] as const)
  : []) {
  const device = await openDevice({ serialNumber: profile.expect.serial }, { backend: 'usbfs', ...options });
  const lu = device.lun(0);
  const into = new Uint8Array(READ_BLOCKS * 512);
  if (process.env.HOPS_PROFILE === '1' && label === 'usbms') {
    // A CPU profile of the shipped path (HOPS_PROFILE=1): TUR and READ loops, written to $HIL_OUT/hops-<kind>.cpuprofile.
    const session = new inspector.Session();
    session.connect();
    const post = (method: string, params?: object): Promise<unknown> =>
      new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    for (const [kind, run] of [
      ['tur', () => lu.testUnitReady()],
      ['read', () => lu.read(0, READ_BLOCKS, { into })],
    ] as const) {
      for (let i = 0; i < 20; i++) await run();
      await post('Profiler.start');
      for (let i = 0; i < N; i++) await run();
      const { profile: cpu } = (await post('Profiler.stop')) as { profile: unknown };
      writeResult(`hops-${kind}.cpuprofile`, cpu);
    }
    session.disconnect();
  }
  results.push(await timeIt(`tur ${label}`, () => lu.testUnitReady().then(() => undefined)));
  results.push(await timeIt(`read ${label}`, () => lu.read(0, READ_BLOCKS, { into }).then(() => undefined)));
  results.push(await timeIt(`write ${label}`, () => lu.write(0, into).then(() => undefined)));
  // Where each command's time goes: the gap between consecutive URB events, by kind of step.
  const transport = device.transport as UsbfsTransport;
  for (const [kind, run] of [
    ['tur', () => lu.testUnitReady()],
    ['read', () => lu.read(0, READ_BLOCKS, { into })],
    ['write', () => lu.write(0, into)],
  ] as const) {
    const events: UrbEvent[] = [];
    transport.timeline = events;
    for (let i = 0; i < Math.min(N, 100); i++) await run();
    transport.timeline = undefined;
    const gaps = new Map<string, number[]>();
    const name = (e: UrbEvent): string => `${e.event} ${e.endpoint & 0x80 ? 'in' : 'out'}${e.event === 'submit' ? ` ${e.length}` : ''}`;
    // CBWs per call: the step before the first CBW of a call is counted apart ("call boundary").
    const cbwsPerCall = kind === 'tur' ? 1 : events.filter((e) => e.event === 'submit' && e.length === 31).length / Math.min(N, 100);
    let cbws = 1; // events[0] is the first call's first CBW
    for (let i = 1; i < events.length; i++) {
      const a = events[i - 1] as UrbEvent;
      const b = events[i] as UrbEvent;
      const cbw = b.event === 'submit' && b.length === 31 && cbwsPerCall > 1;
      const nth = cbw ? cbws++ : -1;
      // Calls of more than 16 commands are several queue jobs (MscDevice.runRawMany).
      const boundary = !cbw ? '' : nth % cbwsPerCall === 0 ? ' (call boundary)' : nth % 16 === 0 ? ' (job boundary)' : '';
      const key = `${name(a)} -> ${name(b)}${boundary}`;
      gaps.set(key, [...(gaps.get(key) ?? []), b.t - a.t]);
    }
    const submits = events.filter((e) => e.event === 'submit' && e.start !== undefined).map((e) => e.t - (e.start as number));
    log(`${label} ${kind} SUBMITURB (encode + ioctl) p50 ${median(submits).toFixed(3)} ms p90 ${p(submits, 0.9).toFixed(3)}`);
    for (const [key, xs] of [...gaps].sort((x, y) => y[1].length - x[1].length)) {
      log(`${label} ${kind} step ${key.padEnd(34)} n ${String(xs.length).padStart(4)} p50 ${median(xs).toFixed(3)} ms p90 ${p(xs, 0.9).toFixed(3)}`);
    }
  }
  await device.close();
  await new Promise((r) => setTimeout(r, 1500));
}
writeResult('hops.json', { profile: profile.name, n: N, results });
