// Where the time from abort() to the caller's rejection goes, on the usbfs backend (run inside the HIL
// guest, bundled on the host by ab-run.ts): the device opened as shipped, then HOPS_N large reads as
// shipped (pipelined: no trace listener), each aborted by a timer halfway through the time the same
// read took whole, as the HIL scenario does. For each: the URB timeline from HOPS_BEFORE_MS (default 3)
// before the abort to the rejection (submit, discard, reap; ms after the abort), the URBs the kernel
// ended early (UsbfsStats.cancelled), and the next TEST UNIT READY (after the job's recovery).
import type { LogicalUnit } from '../../packages/core/src/index.js';
import { UsbfsTransport } from '../../packages/node/src/index.js';
import type { UrbEvent } from '../../packages/node/src/usbfs/urbs.js';
import { abortMidway } from '../../test/hil/guest/abort-midway.js';
import { BLOCK, env, openAsShipped, profile } from './guest-config.js';
import { median } from './stats.js';

const N = env('HOPS_N', 5);
const BLOCKS = env('HOPS_ABORT_BLOCKS', 8192);
const BEFORE_MS = env('HOPS_BEFORE_MS', 3);
/** HOPS_INTO=1: read into a buffer of the caller's (the caller is told once the cancelled transfers ended). */
const INTO = process.env.HOPS_INTO === '1';
const LABEL = process.env.HOPS_LABEL ?? '';
const log = (s: string): void => console.log(`[abort-trace ${profile.name}${LABEL ? ` ${LABEL}` : ''}] ${s}`);

const device = await openAsShipped();
try {
  const lu: LogicalUnit = device.lun(0);
  const transport = device.transport;
  if (!(transport instanceof UsbfsTransport)) throw new Error('not the usbfs backend');
  const settle: number[] = [];
  // The engine's calls into the transport (recovery's class request and clear halts), timed.
  const calls: { t: number; what: string }[] = [];
  for (const name of ['classRequest', 'clearHalt'] as const) {
    const original = transport[name].bind(transport) as (...args: unknown[]) => Promise<unknown>;
    (transport as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      calls.push({ t: performance.now(), what: `${name} called` });
      try {
        return await original(...args);
      } finally {
        calls.push({ t: performance.now(), what: `${name} returned` });
      }
    };
  }
  for (let i = 0; i < N; i++) {
    const whole = performance.now();
    await lu.read(0, BLOCKS);
    const wholeMs = performance.now() - whole;
    const events: UrbEvent[] = [];
    const before = { ...transport.stats };
    // As the HIL scenario: aborted halfway, sooner if the read got faster than when measured.
    const { error, ended, abortedAt } = await abortMidway(wholeMs, (signal) => {
      events.length = 0;
      calls.length = 0;
      transport.timeline = events;
      return lu.read(0, BLOCKS, { signal, ...(INTO ? { into: new Uint8Array(BLOCKS * BLOCK) } : {}) });
    });
    if (error === undefined || abortedAt === undefined) {
      log('the read was not aborted');
      transport.timeline = undefined;
      continue;
    }
    const t0 = abortedAt;
    settle.push(ended - t0);
    const ep = (e: UrbEvent): string => (e.endpoint & 0x80 ? 'in' : 'out');
    log(
      `#${i} whole read ${wholeMs.toFixed(1)} ms; rejection ${(ended - t0).toFixed(2)} ms after the abort; ` +
        `URBs ended early ${transport.stats.cancelled - before.cancelled}, hand-offs ${transport.stats.handOffs - before.handOffs}`,
    );
    // Recovery (reset, clear halts) runs in the queue job after the rejection, before the next command.
    const t = performance.now();
    await lu.testUnitReady();
    const turMs = performance.now() - t;
    transport.timeline = undefined;
    const lines = events
      .filter((e) => e.t >= t0 - BEFORE_MS)
      .map((e) => ({ t: e.t, what: `${e.event} ${ep(e)} ${e.length}` }))
      .concat(calls, [{ t: ended, what: 'rejection' }]);
    for (const { t, what } of lines.sort((a, b) => a.t - b.t)) log(`  ${(t - t0).toFixed(2)} ${what}`);
    log(`  next TUR GOOD ${turMs.toFixed(2)} ms after the rejection`);
  }
  log(`settle ms ${settle.map((x) => x.toFixed(1)).join(' ')} (median ${median(settle).toFixed(1)})`);
} finally {
  await device.close();
}
