/**
 * A simulated USB Mass Storage device: SCSI logical units (scsi-target.ts)
 * behind a Bulk-Only Transport device model (USB MSC BOT 1.0), exposed as an
 * `MscTransport`. The device side follows BOT 1.0 §5-§6 including the
 * thirteen host/device cases of §6.7, and checks the host: a malformed CBW or
 * a CBW sent before the previous CSW was read is recorded in `violations`.
 */

import { MscProtocol, MscSubclass } from '../bot/wire.js';
import { CBW_LENGTH, type Cbw, CSW_LENGTH, CSW_SIGNATURE, decodeCbw, encodeCsw } from '../bot/wrappers.js';
import { AbortError, ClosedError, DisconnectedError, InvalidArgumentError, ProtocolViolationError, TimeoutError, TransportError } from '../errors.js';
import { Listeners } from '../listeners.js';
import { startTimer, type Timer } from '../timer.js';
import { now } from '../trace.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '../transport.js';
import { ArmedFault, type SimFault, type SimFaultHandle, type SimFaultKind, type SimStage } from './faults.js';
import { ScsiStatus, SimLogicalUnit, type SimLunOptions, type SimVendorHook, type TargetContext, type TargetPlan } from './scsi-target.js';
import { Sense } from './sense.js';

/** How a {@link SimulatedDevice} is built: its logical units, USB identity, vendor hook, timing and limits. */
export interface SimulatedDeviceOptions {
  /** One entry per LUN (default: one LUN with default settings). 1-16 LUNs (BOT 1.0 §3.2). */
  luns?: SimLunOptions[];
  /** Overrides of the transport info (default: high speed, 512-byte bulk packets, VID:PID 1209:5553). */
  info?: Partial<TransportInfo>;
  /** Implements opcodes the target does not know (default: ILLEGAL REQUEST 05/20/00). */
  vendorCommand?: SimVendorHook;
  /** Fixed latency added to every transfer and control request, in ms (default 0). */
  transferDelayMs?: number;
  /** Bulk throughput for demo timings, bytes per second (default: unlimited). */
  bytesPerSecond?: number;
  /**
   * Time the device spends executing a command before its data or CSW is ready (it NAKs
   * meanwhile), in ms: a number, or a function of the CDB and LUN (e.g. a slow SYNCHRONIZE CACHE).
   */
  commandDelayMs?: number | ((cdb: Uint8Array, lun: number) => number);
  /** Every LUN reports UNIT ATTENTION 29/00 after power-on / reconnect (default false). */
  unitAttentionOnPowerOn?: boolean;
  /** Every LUN reports UNIT ATTENTION 29/00 after a Bulk-Only reset or port reset (default false). */
  unitAttentionOnReset?: boolean;
  /**
   * On a host protocol violation, reject the offending transfer with ProtocolViolationError
   * (default true) instead of only stalling. Either way it is recorded in `violations`.
   */
  throwOnViolation?: boolean;
  /** BOT 1.0 §6.7.2 case 5 (Hi > Di): STALL bulk-IN after the short data (like f_mass_storage) instead of only ending with a short packet (like QEMU). Default false. */
  stallOnShortDataIn?: boolean;
  /**
   * STALL a bulk-IN token that arrives before the device has a command (no CBW yet) or while
   * it still expects data-out, as QEMU's usb-storage does, instead of NAKing it like most
   * devices. Default false.
   */
  stallEarlyIn?: boolean;
  /** BOT 1.0 §6.7.3 case 11 (Ho > Do): accept and discard the excess instead of stalling bulk-OUT. Default false. */
  acceptExcessDataOut?: boolean;
  /** Whether the transport offers `portReset` (default true). */
  portReset?: boolean;
  /** Get Max LUN reply byte override, or 'stall' (BOT 1.0 §3.2 allows single-LUN devices to stall). */
  getMaxLun?: number | 'stall';
  /** Record a violation when a command follows a Phase Error CSW without reset recovery (BOT 1.0 §5.3.3.1, §6.5). Default true. */
  requireResetAfterPhaseError?: boolean;
  /** Command log entries kept (default 20000; when exceeded, the oldest are dropped down to 90%). */
  logLimit?: number;
}

/** A rule of BOT 1.0 the host broke, as the simulator detects it. */
export type SimViolationKind = 'malformed-cbw' | 'cbw-before-csw' | 'concurrent-transfer' | 'data-out-overrun' | 'no-reset-after-phase-error';

/** A host bug the simulator caught. Tests assert `sim.violations` is empty. */
export interface SimViolation {
  kind: SimViolationKind;
  message: string;
  time: number;
  /** Sequence number of the command that was active, if any. */
  command?: number;
}

/** One command as the device saw it. */
export interface SimCommandRecord {
  /** 1, 2, 3, ... in CBW arrival order. */
  seq: number;
  tag: number;
  lun: number;
  opcode: number;
  cdb: Uint8Array;
  /** Direction and length from the CBW (the host's view). */
  direction: 'none' | 'in' | 'out';
  hostLength: number;
  /** Time the CBW arrived and the CSW left (`now()`, ms). */
  start: number;
  end?: number;
  /** CSW status and residue as sent. */
  cswStatus?: number;
  residue?: number;
  /** How the command ended: its CSW was read, a reset discarded it, or the device vanished. */
  outcome: 'in-progress' | 'completed' | 'reset' | 'disconnected';
  /** Faults that fired on this command. */
  faults: SimFaultKind[];
}

/** Counters of what the simulated device has seen: commands, flushes, bytes moved, resets, clear halts, stalls. */
export interface SimStats {
  commands: number;
  /** SYNCHRONIZE CACHE commands executed. */
  flushes: number;
  /** Bytes returned by READ commands / accepted by WRITE commands. */
  bytesRead: number;
  bytesWritten: number;
  bulkOnlyResets: number;
  portResets: number;
  clearHalts: number;
  stalls: number;
}

/** BOT device states, BOT 1.0 §5.3 (command transport, data, status). */
export type SimBotState = 'idle' | 'busy' | 'data-in' | 'data-out' | 'status';

/** The first `length` bytes of `chunks`, as one array. */
function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const first = chunks[0];
  if (chunks.length === 1 && first && first.length === length) return first;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    if (at >= length) break;
    const n = Math.min(c.length, length - at);
    out.set(n === c.length ? c : c.subarray(0, n), at);
    at += n;
  }
  return out;
}

const WAIT: unique symbol = Symbol('wait');
type Wait = typeof WAIT;
const EMPTY = new Uint8Array(0);

interface Active {
  record: SimCommandRecord;
  cbw: Cbw;
  lu: SimLogicalUnit;
  phase: 'busy' | 'data-in' | 'data-out' | 'status';
  hostDir: 'none' | 'in' | 'out';
  /** Whether the data stage of an OUT command is over (so further OUTs are not data). */
  dataOver: boolean;
  // data-in
  inData: Uint8Array;
  inLimit: number;
  inSent: number;
  hostInReceived: number;
  stallInAtEnd: boolean;
  babbleExtra: number;
  skipData: boolean;
  // data-out
  /** Data-out chunks as received (grown with what the host actually sends, never pre-sized from the CBW). */
  outChunks: Uint8Array[];
  outAccept: number;
  outUse: number;
  outReceived: number;
  onOut: ((data: Uint8Array) => ScsiStatus | Promise<ScsiStatus>) | undefined;
  outStallFault: boolean;
  // status
  cswStatus: number;
  residue: number;
  cswStalls: number;
  cswZeroLength: number;
  badSignature: number | undefined;
  wrongTag: number | undefined;
  residueExtra: number;
  hangAt: SimStage | undefined;
  disconnectAt: SimStage | undefined;
}

interface Pending {
  attempt: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  state: 'waiting' | 'delivering' | 'done';
  cleanup: () => void;
}

interface Connection {
  transport: MscTransport;
  state: 'open' | 'closed' | 'disconnected';
  listeners: Listeners;
  pending: { in: Pending | undefined; out: Pending | undefined };
  controls: Set<Pending>;
}

/**
 * A RAM-backed SCSI block device behind a Bulk-Only Transport device model.
 *
 * @example
 * const sim = new SimulatedDevice({ luns: [{ blocks: 2048 }, { mediumPresent: false }] });
 * const device = await MscDevice.open(sim.transport);
 * sim.inject({ kind: 'stall-csw', opcode: 0x28 });
 * // ... after the test:
 * sim.assertClean();
 */
export class SimulatedDevice {
  readonly options: Readonly<SimulatedDeviceOptions>;
  readonly #luns: SimLogicalUnit[];
  readonly #phantoms = new Map<number, SimLogicalUnit>();
  readonly #faults: ArmedFault[] = [];
  readonly #violations: SimViolation[] = [];
  readonly #log: SimCommandRecord[] = [];
  readonly #stats: SimStats = {
    commands: 0,
    flushes: 0,
    bytesRead: 0,
    bytesWritten: 0,
    bulkOnlyResets: 0,
    portResets: 0,
    clearHalts: 0,
    stalls: 0,
  };
  readonly #info: TransportInfo;
  #conn: Connection;
  #active: Active | undefined;
  #seq = 0;
  #halted = { in: false, out: false };
  /** BOT 1.0 §6.6.1: after an invalid CBW both pipes stay stalled until reset recovery. */
  #needsReset = false;
  /** A fault made the device stop answering; released by Bulk-Only reset or port reset. */
  #hung = false;
  #phaseErrorPending = false;
  readonly #commandListeners = new Listeners<[SimCommandRecord]>();
  readonly #ctx: TargetContext;

  constructor(options: SimulatedDeviceOptions = {}) {
    this.options = options;
    const lunOptions = options.luns ?? [{}];
    if (lunOptions.length < 1 || lunOptions.length > 16) {
      throw new InvalidArgumentError(`a simulated device has 1-16 LUNs (BOT 1.0 §3.2), got ${lunOptions.length}`);
    }
    this.#luns = lunOptions.map((o, i) => new SimLogicalUnit(i, o));
    this.#info = {
      maxPacketSizeIn: 512,
      maxPacketSizeOut: 512,
      speed: 'high',
      vendorId: 0x1209,
      productId: 0x5553,
      serialNumber: 'SIM0001',
      manufacturer: 'usbms',
      product: 'usbms simulated device',
      interfaceNumber: 0,
      interfaceSubclass: MscSubclass.ScsiTransparent,
      interfaceProtocol: MscProtocol.BulkOnly,
      ...options.info,
    };
    this.#conn = this.#connect();
    this.#ctx = {
      hostDirection: 'none',
      hostLength: 0,
      tag: 0,
      lunCount: this.#luns.length,
      vendorHook: options.vendorCommand,
      takeNotReady: () => {
        const a = this.#active;
        const f = a && this.#takeFault('not-ready', a.record.opcode, a.cbw.lun, a.record);
        if (f?.kind !== 'not-ready') return undefined;
        return { key: 0x02, asc: f.asc ?? 0x04, ascq: f.ascq ?? 0x01 };
      },
      takeMediumError: (lba, blocks, write) => {
        const a = this.#active;
        if (!a) return undefined;
        const f = this.#takeFault(
          'medium-error',
          a.record.opcode,
          a.cbw.lun,
          a.record,
          (x) => x.kind === 'medium-error' && x.lba >= lba && x.lba < lba + blocks && (!write || x.writes === true),
        );
        return f && f.kind === 'medium-error' ? f.lba : undefined;
      },
      countRead: (n) => {
        this.#stats.bytesRead += n;
      },
      countWritten: (n) => {
        this.#stats.bytesWritten += n;
      },
      countFlush: () => {
        this.#stats.flushes++;
      },
    };
    this.#powerOn();
  }

  // ------------------------------------------------------------ public API

  /** The transport of the current connection (a new object after `reconnect()`). */
  get transport(): MscTransport {
    return this.#conn.transport;
  }

  /** The logical units (index = LUN). */
  get luns(): readonly SimLogicalUnit[] {
    return this.#luns;
  }

  /** The logical unit numbered `n` (its medium, store, write protection, pending sense); InvalidArgumentError if there is none. */
  lun(n: number): SimLogicalUnit {
    const lu = this.#luns[n];
    if (!lu) throw new InvalidArgumentError(`LUN ${n} does not exist (the simulated device has ${this.#luns.length})`);
    return lu;
  }

  /** Host protocol violations seen so far. */
  get violations(): readonly SimViolation[] {
    return this.#violations;
  }

  /** Commands in arrival order (bounded by `logLimit`). */
  get log(): readonly SimCommandRecord[] {
    return this.#log;
  }

  /** Counters (commands, bytes, stalls, resets, ...) since the device was created; reconnecting does not zero them. */
  get stats(): Readonly<SimStats> {
    return this.#stats;
  }

  /** Faults still armed. */
  get faults(): readonly SimFaultHandle[] {
    return this.#faults;
  }

  /** Current BOT state (for tests and debugging). */
  get state(): SimBotState {
    return this.#active?.phase ?? 'idle';
  }

  /** Endpoint halt (STALL) state. */
  get halted(): Readonly<{ in: boolean; out: boolean }> {
    return { ...this.#halted };
  }

  /** True while a hang fault holds the device. */
  get hung(): boolean {
    return this.#hung;
  }

  /** False after `disconnect()` or `powerCut()` until `reconnect()`; a host `transport.close()` leaves it true. */
  get connected(): boolean {
    return this.#conn.state !== 'disconnected';
  }

  /**
   * Calls `listener` with each command's record when it ends (CSW sent, reset
   * or disconnect): a device-side view for demos and tests. Returns an unsubscribe function.
   */
  onCommand(listener: (record: SimCommandRecord) => void): () => void {
    return this.#commandListeners.add(listener);
  }

  /** Arms a fault; see `SimFault`. */
  inject(fault: SimFault): SimFaultHandle {
    const armed = new ArmedFault(fault, (f) => {
      const i = this.#faults.indexOf(f);
      if (i >= 0) this.#faults.splice(i, 1);
    });
    if (fault.times !== undefined && !(fault.times >= 1)) {
      throw new InvalidArgumentError(`fault ${fault.kind}: times must be >= 1 (or Infinity), got ${fault.times}`);
    }
    if (fault.kind === 'unit-attention' && fault.trigger === 'now') {
      for (const lu of this.#luns) {
        if (fault.lun === undefined || fault.lun === lu.index) {
          lu.pendingUnitAttention = { key: 0x06, asc: fault.asc ?? 0x29, ascq: fault.ascq ?? 0x00 };
        }
      }
      armed.hits = armed.remaining;
      return armed;
    }
    this.#faults.push(armed);
    return armed;
  }

  /** Disarms every fault still armed (as `remove()` on each handle). A UNIT ATTENTION already made pending stays pending. */
  clearFaults(): void {
    for (const f of [...this.#faults]) f.remove();
  }

  /**
   * Throws ProtocolViolationError when the host broke BOT: any recorded
   * violation, or two commands whose lifetimes overlap in the log.
   */
  assertClean(): void {
    const problems = this.#violations.map((v) => `${v.kind}: ${v.message}`);
    problems.push(...this.interleavings());
    if (problems.length > 0) {
      throw new ProtocolViolationError(`the host broke the Bulk-Only protocol ${problems.length} time(s): ${problems.slice(0, 5).join('; ')}`, {
        details: { violations: [...this.#violations] },
      });
    }
  }

  /** Describes every pair of logged commands whose CBW..CSW spans overlap (should be none). */
  interleavings(): string[] {
    const out: string[] = [];
    for (let i = 1; i < this.#log.length; i++) {
      const prev = this.#log[i - 1];
      const cur = this.#log[i];
      if (!prev || !cur) continue;
      if (prev.end === undefined || prev.end > cur.start) {
        out.push(`command #${cur.seq} (tag ${cur.tag}) started before command #${prev.seq} (tag ${prev.tag}) ended`);
      }
    }
    return out;
  }

  /** Unplugs the device: pending transfers reject with DisconnectedError, listeners fire. */
  disconnect(): void {
    const conn = this.#conn;
    if (conn.state === 'disconnected') return;
    const wasOpen = conn.state === 'open';
    conn.state = 'disconnected';
    this.#endActive('disconnected');
    this.#rejectAll(conn, () => new DisconnectedError('The simulated USB device was disconnected'));
    if (wasOpen) {
      conn.listeners.emit();
    }
  }

  /** Power loss: the volatile write caches are dropped and the device disconnects. */
  powerCut(): void {
    for (const lu of this.#luns) lu.dropCache();
    this.disconnect();
  }

  /** Plugs the device back in (power-on state). Returns the new transport, also available as `transport`. */
  reconnect(): MscTransport {
    if (this.#conn.state !== 'disconnected') this.disconnect();
    this.#conn = this.#connect();
    this.#halted = { in: false, out: false };
    this.#needsReset = false;
    this.#hung = false;
    this.#phaseErrorPending = false;
    for (const lu of this.#luns) {
      lu.stopped = false;
      lu.removalPrevented = false;
      lu.sense = undefined;
    }
    this.#powerOn();
    return this.#conn.transport;
  }

  /**
   * Claims the interface again after `transport.close()` (the device keeps
   * its state: no power cycle, caches and media untouched). If the current
   * transport is still open it is closed first. Returns the new transport.
   */
  reopen(): MscTransport {
    const conn = this.#conn;
    if (conn.state === 'disconnected') throw new DisconnectedError('The simulated device is unplugged; call reconnect() to plug it back in');
    if (conn.state === 'open') {
      conn.state = 'closed';
      this.#rejectAll(conn, () => new ClosedError('The simulated device interface was released (reopened)'));
    }
    this.#conn = this.#connect();
    return this.#conn.transport;
  }

  // ------------------------------------------------------------ connection

  #powerOn(): void {
    if (this.options.unitAttentionOnPowerOn) for (const lu of this.#luns) lu.pendingUnitAttention = Sense.powerOnReset();
  }

  #connect(): Connection {
    const transport: MscTransport = {
      info: this.#info,
      // The device model keeps one pending transfer per pipe and NAKs (or, with stallEarlyIn, stalls) early IN tokens.
      concurrentPipes: true,
      bulkOut: (data, options) => this.#bulkOut(conn, data, options),
      bulkIn: (length, options) => this.#bulkIn(conn, length, options),
      clearHalt: (pipe, options) => this.#clearHalt(conn, pipe, options),
      classRequest: (request, options) => this.#classRequest(conn, request, options),
      close: async () => {
        if (conn.state !== 'open') return;
        conn.state = 'closed';
        this.#rejectAll(conn, () => new ClosedError('The simulated device interface was released'));
      },
      onDisconnect: (listener) => {
        return conn.listeners.add(listener);
      },
    };
    if (this.options.portReset ?? true) transport.portReset = (options) => this.#portReset(conn, options);
    const conn: Connection = {
      state: 'open',
      listeners: new Listeners(),
      pending: { in: undefined, out: undefined },
      controls: new Set(),
      transport,
    };
    return conn;
  }

  #rejectAll(conn: Connection, error: () => Error): void {
    const all = [conn.pending.in, conn.pending.out, ...conn.controls];
    conn.pending.in = undefined;
    conn.pending.out = undefined;
    conn.controls.clear();
    for (const p of all) {
      if (!p || p.state === 'done') continue;
      p.state = 'done';
      p.cleanup();
      p.reject(error());
    }
  }

  #checkUsable(conn: Connection): void {
    if (conn.state === 'disconnected') throw new DisconnectedError('The simulated USB device was disconnected; reconnect it first');
    if (conn.state === 'closed') throw new ClosedError('The simulated device interface was released (transport closed)');
  }

  #delayFor(bytes: number): number {
    const fixed = this.options.transferDelayMs ?? 0;
    const bps = this.options.bytesPerSecond;
    return fixed + (bps !== undefined && bps > 0 ? (bytes * 1000) / bps : 0);
  }

  /**
   * Runs one transfer: `attempt` either produces the result now, returns WAIT
   * (the device NAKs; try again when its state changes) or throws. The promise
   * settles on result, timeout (TimeoutError), abort (AbortError) or
   * disconnect; once settled the transfer is no longer pending.
   */
  #transfer<T>(
    conn: Connection,
    slot: 'in' | 'out' | 'control',
    size: number,
    options: TransferOptions,
    attempt: () => T | Wait,
    bytes: (r: T) => number,
  ): Promise<T> {
    try {
      this.#checkUsable(conn);
      if (options.signal?.aborted) throw new AbortError('The transfer was aborted before it started');
      const max = this.#info.maxTransferSize;
      if (max !== undefined && slot !== 'control' && size > max) {
        throw new InvalidArgumentError(`a ${size}-byte bulk transfer exceeds this platform's limit of ${max} bytes; split it`);
      }
      if (slot !== 'control' && conn.pending[slot]) {
        const error = this.#violation(
          'concurrent-transfer',
          `a second bulk-${slot.toUpperCase()} transfer was submitted while one is pending on that endpoint`,
        );
        throw error ?? new TransportError(`bulk-${slot} endpoint busy: one transfer is already pending`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // Fast path: no latency configured and the device can answer now, so no
    // timer, listener or pending record is needed.
    let waited = false;
    if ((this.options.transferDelayMs ?? 0) <= 0 && this.options.bytesPerSecond === undefined) {
      let r: T | Wait;
      try {
        r = attempt();
      } catch (error) {
        return Promise.reject(error);
      }
      if (r !== WAIT) {
        if (slot !== 'control' && conn.pending[slot === 'in' ? 'out' : 'in']) queueMicrotask(() => this.#kick());
        return Promise.resolve(r);
      }
      waited = true;
    }
    return new Promise<T>((resolve, reject) => {
      let timer: Timer | undefined;
      let delayTimer: ReturnType<typeof setTimeout> | undefined;
      const signal = options.signal;
      const p: Pending = {
        attempt,
        resolve: resolve as (v: unknown) => void,
        reject,
        state: 'waiting',
        cleanup: () => {
          timer?.cancel();
          if (delayTimer !== undefined) clearTimeout(delayTimer);
          signal?.removeEventListener('abort', onAbort);
          if (slot === 'control') conn.controls.delete(p);
          else if (conn.pending[slot] === p) conn.pending[slot] = undefined;
        },
      };
      const fail = (error: unknown): void => {
        if (p.state === 'done') return;
        p.state = 'done';
        p.cleanup();
        reject(error);
      };
      const onAbort = (): void => fail(new AbortError('The transfer was aborted'));
      const timeoutMs = options.timeoutMs;
      // A timeout of 0 (or Infinity) means "no timeout", as in libusb.
      if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
        // startTimer: a limit beyond 2^31-1 ms is kept (chained timers) instead of firing at once.
        timer = startTimer(timeoutMs, () => fail(new TimeoutError(`The simulated device did not complete the bulk/control transfer within ${timeoutMs} ms`)));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (slot === 'control') conn.controls.add(p);
      else conn.pending[slot] = p;
      // Each (re)try asks the device model; once it answers, the result is delivered after the configured latency.
      p.attempt = () => {
        const r = attempt();
        if (r === WAIT) return WAIT;
        p.state = 'delivering';
        // The device state moved on: a transfer waiting on the other pipe may now be served.
        if (slot !== 'control' && conn.pending[slot === 'in' ? 'out' : 'in']) queueMicrotask(() => this.#kick());
        const delay = this.#delayFor(bytes(r));
        if (delay > 0) {
          delayTimer = setTimeout(() => {
            if (p.state === 'done') return;
            p.state = 'done';
            p.cleanup();
            resolve(r);
          }, delay);
        } else {
          p.state = 'done';
          p.cleanup();
          resolve(r);
        }
        return r;
      };
      // When the fast path already got a NAK, wait for a state change instead of asking again.
      if (!waited) this.#try(p);
    });
  }

  #try(p: Pending): void {
    if (p.state !== 'waiting') return;
    try {
      p.attempt();
    } catch (error) {
      this.#settleError(p, error);
    }
  }

  #settleError(p: Pending, error: unknown): void {
    if (p.state === 'done') return;
    p.state = 'done';
    p.cleanup();
    p.reject(error);
  }

  /** Device state changed: retry transfers the device was NAKing. */
  #kick(): void {
    const conn = this.#conn;
    if (conn.pending.out) this.#try(conn.pending.out);
    if (conn.pending.in) this.#try(conn.pending.in);
  }

  #violation(kind: SimViolationKind, message: string): ProtocolViolationError | undefined {
    const v: SimViolation = { kind, message, time: now() };
    if (this.#active) v.command = this.#active.record.seq;
    this.#violations.push(v);
    return (this.options.throwOnViolation ?? true) ? new ProtocolViolationError(`host protocol violation (${kind}): ${message}`) : undefined;
  }

  /** BOT 1.0 §6.6.1: stall both pipes until reset recovery. */
  #stallUntilReset(): void {
    this.#halted.in = true;
    this.#halted.out = true;
    this.#needsReset = true;
    this.#stats.stalls++;
  }

  #takeFault(
    kind: SimFaultKind,
    opcode: number | undefined,
    lun: number | undefined,
    record?: SimCommandRecord,
    pred?: (f: SimFault) => boolean,
  ): SimFault | undefined {
    for (const f of this.#faults) {
      if (f.fault.kind !== kind || !f.matches(opcode, lun)) continue;
      if (pred && !pred(f.fault)) continue;
      const fault = f.fault;
      f.fire();
      record?.faults.push(kind);
      return fault;
    }
    return undefined;
  }

  // ------------------------------------------------------------ bulk OUT

  #bulkOut(conn: Connection, data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    return this.#transfer<BulkOutResult>(
      conn,
      'out',
      data.length,
      options,
      () => this.#serveOut(data),
      (r) => r.bytesWritten,
    );
  }

  #serveOut(data: Uint8Array): BulkOutResult | Wait {
    if (this.#halted.out) {
      this.#stats.stalls++;
      return { status: 'stall', bytesWritten: 0 };
    }
    if (this.#hung) return WAIT;
    const a = this.#active;
    if (!a) return this.#onCbw(data);
    if (a.phase === 'data-out') return this.#onDataOut(a, data);
    if (a.phase === 'busy' && a.hostDir === 'out' && !a.dataOver) return WAIT; // not ready for data yet: NAK
    // BOT 1.0 §5.3: the host must read the CSW before the next CBW.
    const what = data.length === CBW_LENGTH ? 'a CBW' : `${data.length} bytes`;
    const error = this.#violation(
      'cbw-before-csw',
      `${what} sent on bulk-OUT while command #${a.record.seq} (tag ${a.cbw.tag}) is in its ${a.phase} stage; read the CSW first`,
    );
    this.#stallUntilReset();
    if (error) throw error;
    return { status: 'stall', bytesWritten: 0 };
  }

  #onCbw(bytes: Uint8Array): BulkOutResult | Wait {
    let cbw: Cbw;
    try {
      cbw = decodeCbw(bytes);
    } catch (cause) {
      // BOT 1.0 §6.2.1 / §6.6.1: a CBW that is not valid or not meaningful: STALL both pipes until reset recovery.
      const error = this.#violation('malformed-cbw', cause instanceof Error ? cause.message : String(cause));
      this.#stallUntilReset();
      if (error) throw error;
      return { status: 'stall', bytesWritten: 0 };
    }
    if (this.#phaseErrorPending && (this.options.requireResetAfterPhaseError ?? true)) {
      this.#phaseErrorPending = false;
      const error = this.#violation('no-reset-after-phase-error', `CBW tag ${cbw.tag} sent after a Phase Error CSW without reset recovery (BOT 1.0 §6.5)`);
      if (error) throw error;
    }
    const opcode = cbw.cdb[0] ?? 0;
    const hostDir = cbw.dataTransferLength === 0 ? 'none' : cbw.direction;
    const record: SimCommandRecord = {
      seq: ++this.#seq,
      tag: cbw.tag,
      lun: cbw.lun,
      opcode,
      cdb: cbw.cdb,
      direction: hostDir,
      hostLength: cbw.dataTransferLength,
      start: now(),
      outcome: 'in-progress',
      faults: [],
    };
    const hang = this.#takeFault('hang', opcode, cbw.lun, record);
    const disconnect = this.#takeFault('disconnect', opcode, cbw.lun, record);
    const hangAt = hang && hang.kind === 'hang' ? (hang.stage ?? 'csw') : undefined;
    const disconnectAt = disconnect && disconnect.kind === 'disconnect' ? (disconnect.stage ?? (hostDir === 'none' ? 'csw' : 'data')) : undefined;
    this.#pushLog(record);
    this.#stats.commands++;
    const lu = this.#luFor(cbw.lun, opcode);
    const a: Active = {
      record,
      cbw,
      lu,
      phase: 'busy',
      hostDir,
      dataOver: false,
      inData: EMPTY,
      inLimit: 0,
      inSent: 0,
      hostInReceived: 0,
      stallInAtEnd: false,
      babbleExtra: 0,
      skipData: false,
      outChunks: [],
      outAccept: 0,
      outUse: 0,
      outReceived: 0,
      onOut: undefined,
      outStallFault: false,
      cswStatus: 0,
      residue: 0,
      cswStalls: 0,
      cswZeroLength: 0,
      badSignature: undefined,
      wrongTag: undefined,
      residueExtra: 0,
      hangAt,
      disconnectAt,
    };
    this.#active = a;
    if (hangAt === 'cbw') {
      // The CBW never completes; the device is stuck until a reset.
      this.#hung = true;
      return WAIT;
    }
    if (disconnectAt === 'cbw') {
      this.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected while receiving the CBW');
    }
    const delayOption = this.options.commandDelayMs;
    const commandDelay = typeof delayOption === 'function' ? delayOption(cbw.cdb, cbw.lun) : (delayOption ?? 0);
    const planned = this.#plan(a);
    const plan =
      commandDelay > 0 ? Promise.resolve(planned).then((p) => new Promise<TargetPlan>((resolve) => setTimeout(() => resolve(p), commandDelay))) : planned;
    if (plan instanceof Promise) {
      plan.then(
        (p) => {
          if (this.#active !== a) return;
          this.#applyPlan(a, p);
          this.#kick();
        },
        () => {
          if (this.#active !== a) return;
          // A vendor hook that throws is a target failure: 04/44/00 INTERNAL TARGET FAILURE.
          a.lu.sense = { key: 0x04, asc: 0x44, ascq: 0x00 };
          this.#applyPlan(a, { dir: 'none', status: ScsiStatus.CheckCondition });
          this.#kick();
        },
      );
    } else {
      this.#applyPlan(a, plan);
    }
    return { status: 'ok', bytesWritten: bytes.length };
  }

  #pushLog(record: SimCommandRecord): void {
    this.#log.push(record);
    const limit = Math.max(1, this.options.logLimit ?? 20_000);
    // Trim in batches (down to 90% of the limit) so a long run does not pay O(n) per command.
    if (this.#log.length > limit) this.#log.splice(0, this.#log.length - Math.ceil(limit * 0.9));
  }

  /** The LU for a CBW's LUN; LUNs beyond the last answer like "no logical unit" (SPC-4 §6.4.2). */
  #luFor(lun: number, opcode: number): SimLogicalUnit {
    const lu = this.#luns[lun];
    if (lu) return lu;
    let phantom = this.#phantoms.get(lun);
    if (!phantom) {
      phantom = new SimLogicalUnit(lun, { mediumPresent: false, blocks: 0 });
      this.#phantoms.set(lun, phantom);
    }
    // REQUEST SENSE to a missing LUN reports 05/25/00 as its sense data (SPC-4 §6.29).
    if (opcode === 0x03) phantom.sense = Sense.lunNotSupported();
    return phantom;
  }

  #plan(a: Active): TargetPlan | Promise<TargetPlan> {
    const { cbw, lu, record } = a;
    const opcode = record.opcode;
    // SPC-4 §6.4.2, §6.29, §6.33: INQUIRY, REQUEST SENSE and REPORT LUNS are answered for any LUN.
    if (cbw.lun >= this.#luns.length && opcode !== 0x12 && opcode !== 0x03 && opcode !== 0xa0) {
      lu.sense = Sense.lunNotSupported();
      return { dir: 'none', status: ScsiStatus.CheckCondition };
    }
    // One context object per device, refreshed per command: the target reads the host fields
    // synchronously in plan(); the callbacks act on whatever command is active.
    const ctx = this.#ctx;
    ctx.hostDirection = a.hostDir;
    ctx.hostLength = cbw.dataTransferLength;
    ctx.tag = cbw.tag;
    return lu.plan(cbw.cdb, ctx);
  }

  /**
   * Matches the device's intent (plan) against the host's CBW: BOT 1.0 §6.7,
   * the thirteen cases (Hn/Hi/Ho = host expects none/in/out, Dn/Di/Do = device intends).
   */
  #applyPlan(a: Active, plan: TargetPlan): void {
    const H = a.cbw.dataTransferLength;
    const passFail = (s: ScsiStatus): number => (s === ScsiStatus.Good ? 0 : 1);
    const dDir: 'none' | 'in' | 'out' = plan.dir === 'in' && plan.data.length === 0 ? 'none' : plan.dir;
    const rec = a.record;
    const opcode = rec.opcode;
    const lun = a.cbw.lun;
    a.phase = 'status';
    a.cswStatus = plan.dir === 'out' ? 0 : passFail(plan.status);

    if (a.hostDir === 'none') {
      // Case 1 (Hn = Dn): status only. Cases 2/3 (Hn < Di, Hn < Do): Phase Error.
      if (dDir !== 'none') a.cswStatus = 2;
      a.residue = 0;
    } else if (a.hostDir === 'in') {
      a.phase = 'data-in';
      if (plan.dir === 'in' && dDir === 'in') {
        const di = plan.data.length;
        a.inData = plan.data;
        if (di <= H) {
          // Case 6 (Hi = Di) or case 5 (Hi > Di): send Di, residue Hi - Di.
          a.inLimit = di;
          a.residue = H - di;
          a.stallInAtEnd = di < H && (this.options.stallOnShortDataIn ?? false);
        } else {
          // Case 7 (Hi < Di): send Hi bytes, then Phase Error.
          a.inLimit = H;
          a.cswStatus = 2;
          a.residue = 0;
        }
      } else {
        // Case 4 (Hi > Dn): STALL bulk-IN, residue Hi. Case 8 (Hi <> Do): STALL, Phase Error.
        a.inLimit = 0;
        a.stallInAtEnd = true;
        a.residue = H;
        if (dDir === 'out') a.cswStatus = 2;
      }
    } else {
      if (plan.dir === 'out') {
        a.phase = 'data-out';
        const dout = plan.length;
        if (dout === H) {
          // Case 12 (Ho = Do).
          a.outAccept = H;
          a.outUse = H;
          a.onOut = plan.complete;
        } else if (dout < H) {
          // Case 11 (Ho > Do): take Do bytes, then STALL bulk-OUT (or accept and discard), residue Ho - Do.
          a.outAccept = this.options.acceptExcessDataOut ? H : dout;
          a.outUse = dout;
          a.onOut = plan.complete;
          a.residue = H - dout;
        } else {
          // Case 13 (Ho < Do): take Ho bytes, Phase Error; the command is not executed.
          a.outAccept = H;
          a.outUse = H;
          a.cswStatus = 2;
        }
      } else {
        // Case 9 (Ho > Dn): STALL bulk-OUT, residue Ho. Case 10 (Ho <> Di): STALL, Phase Error.
        this.#halted.out = true;
        a.dataOver = true;
        a.residue = H;
        if (dDir === 'in') a.cswStatus = 2;
      }
    }

    // ---- faults that act on the data and status stages
    if (a.phase === 'data-in' && a.inLimit > 0) {
      const skip = this.#takeFault('skip-data', opcode, lun, rec);
      if (skip) {
        a.skipData = true;
        a.residue = H;
      }
      const short = this.#takeFault('short-data', opcode, lun, rec);
      if (short && short.kind === 'short-data') {
        const missing = Math.min(a.inLimit, Math.max(1, short.missingBytes ?? Math.ceil(a.inLimit / 2)));
        a.inLimit -= missing;
        if (a.cswStatus !== 2) a.residue = H - a.inLimit;
      }
      const long = this.#takeFault('long-data', opcode, lun, rec);
      if (long && long.kind === 'long-data') {
        a.babbleExtra = Math.max(1, long.extraBytes ?? 1);
        a.cswStatus = 2;
      }
    }
    if (a.phase === 'data-in') {
      const stall = this.#takeFault('stall-data-in', opcode, lun, rec);
      if (stall && stall.kind === 'stall-data-in') {
        a.inLimit = Math.min(a.inLimit, stall.afterBytes ?? 0);
        a.stallInAtEnd = true;
        if (a.cswStatus !== 2) a.residue = H - a.inLimit;
      }
    }
    if (a.phase === 'data-out') {
      const stall = this.#takeFault('stall-data-out', opcode, lun, rec);
      if (stall && stall.kind === 'stall-data-out') {
        a.outAccept = Math.min(a.outAccept, stall.afterBytes ?? 0);
        a.outStallFault = true;
        if (a.cswStatus !== 2) a.residue = H - a.outAccept;
        if (a.outAccept === 0) this.#finishDataOut(a);
      }
    }
    if (this.#takeFault('phase-error', opcode, lun, rec)) a.cswStatus = 2;
    const stallCsw = this.#takeFault('stall-csw', opcode, lun, rec);
    if (stallCsw && stallCsw.kind === 'stall-csw') a.cswStalls = Math.max(1, stallCsw.count ?? 1);
    if (this.#takeFault('zero-length-csw', opcode, lun, rec)) a.cswZeroLength = 1;
    const sig = this.#takeFault('bad-csw-signature', opcode, lun, rec);
    if (sig && sig.kind === 'bad-csw-signature') a.badSignature = sig.signature ?? 0x73425355;
    const tag = this.#takeFault('wrong-tag', opcode, lun, rec);
    if (tag && tag.kind === 'wrong-tag') a.wrongTag = tag.tag ?? (a.cbw.tag ^ 0xffffffff) >>> 0;
    const big = this.#takeFault('residue-too-large', opcode, lun, rec);
    if (big && big.kind === 'residue-too-large') a.residueExtra = Math.max(1, big.extraBytes ?? 512);
  }

  #onDataOut(a: Active, data: Uint8Array): BulkOutResult | Wait {
    if (a.hangAt === 'data') {
      this.#hung = true;
      return WAIT;
    }
    if (a.disconnectAt === 'data') {
      this.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected during the data-out stage');
    }
    const H = a.cbw.dataTransferLength;
    const hostLeft = H - a.outReceived;
    if (data.length > hostLeft) {
      const error = this.#violation(
        'data-out-overrun',
        `the host sent ${data.length} data-out bytes but only ${hostLeft} remained of dCBWDataTransferLength ${H}`,
      );
      this.#stallUntilReset();
      if (error) throw error;
      return { status: 'stall', bytesWritten: 0 };
    }
    const k = Math.min(data.length, a.outAccept - a.outReceived);
    if (k > 0) a.outChunks.push(data.slice(0, k));
    a.outReceived += k;
    if (a.outReceived === a.outAccept) this.#finishDataOut(a);
    if (k < data.length) {
      this.#stats.stalls++;
      return { status: 'stall', bytesWritten: k };
    }
    return { status: 'ok', bytesWritten: k };
  }

  /** The device has every data-out byte it will take: stall the rest, execute, go to status. */
  #finishDataOut(a: Active): void {
    a.dataOver = true;
    if (a.outReceived < a.cbw.dataTransferLength) this.#halted.out = true;
    a.phase = 'status';
    if (a.outStallFault) {
      a.lu.sense = Sense.dataPhaseError();
      if (a.cswStatus !== 2) a.cswStatus = 1;
      return;
    }
    if (a.cswStatus === 2 || !a.onOut) return;
    const r = a.onOut(concat(a.outChunks, a.outUse));
    if (r instanceof Promise) {
      a.phase = 'busy';
      r.then(
        (s) => {
          if (this.#active !== a) return;
          a.cswStatus = s === ScsiStatus.Good ? 0 : 1;
          a.phase = 'status';
          this.#kick();
        },
        () => {
          if (this.#active !== a) return;
          a.lu.sense = { key: 0x04, asc: 0x44, ascq: 0x00 };
          a.cswStatus = 1;
          a.phase = 'status';
          this.#kick();
        },
      );
    } else {
      a.cswStatus = r === ScsiStatus.Good ? 0 : 1;
    }
  }

  // ------------------------------------------------------------ bulk IN

  #bulkIn(conn: Connection, length: number, options: BulkInOptions): Promise<BulkInResult> {
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
      return Promise.reject(new InvalidArgumentError(`bulk-IN length ${length} must be an integer 0..4294967295`));
    }
    if (options.into && options.into.length < length) {
      return Promise.reject(new InvalidArgumentError(`bulk-IN 'into' buffer holds ${options.into.length} bytes, ${length} requested`));
    }
    const into = options.into;
    return this.#transfer<BulkInResult>(
      conn,
      'in',
      length,
      options,
      () => {
        const r = this.#serveIn(length);
        if (r === WAIT || !into || r.data.length === 0) return r;
        into.set(r.data);
        return { status: r.status, data: into.subarray(0, r.data.length) };
      },
      (r) => r.data.length,
    );
  }

  #serveIn(length: number): BulkInResult | Wait {
    if (this.#halted.in) {
      this.#stats.stalls++;
      return { status: 'stall', data: EMPTY };
    }
    if (this.#hung) return WAIT;
    const a = this.#active;
    // Nothing to send yet (no CBW, command still executing, or waiting for data-out): NAK.
    if (!a || a.phase === 'busy' || a.phase === 'data-out') {
      if (this.options.stallEarlyIn === true && (!a || a.phase === 'data-out')) {
        // Like QEMU: the token is answered with STALL (the pipe is not left halted).
        this.#stats.stalls++;
        return { status: 'stall', data: EMPTY };
      }
      return WAIT;
    }
    if (a.phase === 'data-in') {
      if (a.hangAt === 'data') {
        this.#hung = true;
        return WAIT;
      }
      if (a.disconnectAt === 'data') {
        this.disconnect();
        throw new DisconnectedError('The simulated USB device was disconnected during the data-in stage');
      }
      if (a.skipData) {
        // The device skipped its data stage: what the host reads as data is the CSW.
        a.phase = 'status';
        return this.#sendCsw(a, length);
      }
      return this.#sendData(a, length);
    }
    // Status stage.
    if (a.hangAt === 'csw' || a.hangAt === 'data') {
      this.#hung = true;
      return WAIT;
    }
    if (a.disconnectAt === 'csw' || a.disconnectAt === 'data') {
      this.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected before sending the CSW');
    }
    if (a.cswStalls > 0) {
      a.cswStalls--;
      this.#halted.in = true;
      this.#stats.stalls++;
      return { status: 'stall', data: EMPTY };
    }
    if (a.cswZeroLength > 0) {
      a.cswZeroLength--;
      return { status: 'ok', data: EMPTY };
    }
    return this.#sendCsw(a, length);
  }

  #sendData(a: Active, length: number): BulkInResult {
    const H = a.cbw.dataTransferLength;
    const hostLeft = H - a.hostInReceived;
    const devLeft = a.inLimit - a.inSent;
    const mps = this.#info.maxPacketSizeIn;
    if (devLeft === 0) {
      // The device has nothing (more) to send in this data stage.
      a.phase = 'status';
      if (a.babbleExtra > 0) {
        return { status: 'babble', data: new Uint8Array(Math.min(length, a.babbleExtra)) };
      }
      if (a.stallInAtEnd) {
        this.#halted.in = true;
        this.#stats.stalls++;
        return { status: 'stall', data: EMPTY };
      }
      // A zero-length packet ends a data stage whose length was a multiple of the packet size.
      return { status: 'ok', data: EMPTY };
    }
    if (a.babbleExtra > 0 && devLeft + a.babbleExtra > length) {
      // Babble: the device keeps sending past what the host asked for.
      const out = new Uint8Array(length);
      out.set(a.inData.subarray(a.inSent, a.inSent + Math.min(devLeft, length)));
      a.inSent = a.inLimit;
      a.hostInReceived += length;
      a.phase = 'status';
      return { status: 'babble', data: out };
    }
    const n = Math.min(length, devLeft, hostLeft);
    if (length % mps !== 0 && Math.min(devLeft, hostLeft) > length) {
      // USB: a host buffer that is not a multiple of wMaxPacketSize overflows when a full packet arrives.
      const sent = Math.min(devLeft, Math.ceil(length / mps) * mps);
      const out = a.inData.slice(a.inSent, a.inSent + length);
      a.inSent += sent;
      a.hostInReceived += sent;
      if (a.inSent === a.inLimit) a.phase = 'status';
      return { status: 'babble', data: out };
    }
    const data = a.inData.subarray(a.inSent, a.inSent + n);
    a.inSent += n;
    a.hostInReceived += n;
    if (a.stallInAtEnd && a.inSent === a.inLimit && a.hostInReceived < H && n < length && n % mps === 0) {
      // The data ended on a packet boundary and the device then STALLs: the host's transfer ends with
      // a STALL handshake, carrying the bytes that arrived before it.
      a.phase = 'status';
      this.#halted.in = true;
      this.#stats.stalls++;
      return { status: 'stall', data };
    }
    if (a.hostInReceived === H || n < length) {
      // Host got everything, or a short packet ended the transfer (BOT 1.0 §6.7.2 case 5).
      a.phase = 'status';
      if (a.stallInAtEnd && a.hostInReceived < H) {
        this.#halted.in = true;
        this.#stats.stalls++;
      }
    }
    return { status: 'ok', data };
  }

  #sendCsw(a: Active, length: number): BulkInResult {
    const H = a.cbw.dataTransferLength;
    const residue = a.residueExtra > 0 ? H + a.residueExtra : a.residue;
    const bytes = encodeCsw({
      signature: a.badSignature ?? CSW_SIGNATURE,
      tag: a.wrongTag ?? a.cbw.tag,
      residue: residue >>> 0,
      status: a.cswStatus,
    });
    a.record.cswStatus = a.cswStatus;
    a.record.residue = residue;
    this.#phaseErrorPending = a.cswStatus === 2;
    this.#endActive('completed');
    if (length < CSW_LENGTH) {
      // The 13-byte CSW packet overflows a smaller host buffer.
      return { status: 'babble', data: bytes.slice(0, length) };
    }
    return { status: 'ok', data: bytes };
  }

  #endActive(outcome: SimCommandRecord['outcome']): void {
    const a = this.#active;
    if (!a) return;
    a.record.outcome = outcome;
    a.record.end = now();
    this.#active = undefined;
    this.#commandListeners.emit(a.record);
  }

  // ------------------------------------------------------------ control

  #control<T>(conn: Connection, options: TransferOptions, attempt: () => T | Wait): Promise<T> {
    return this.#transfer<T>(conn, 'control', 0, options, attempt, () => 0);
  }

  #clearHalt(conn: Connection, pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    if (pipe !== 'in' && pipe !== 'out') return Promise.reject(new InvalidArgumentError(`clearHalt pipe must be 'in' or 'out', got ${String(pipe)}`));
    return this.#control<void>(conn, options, () => {
      this.#stats.clearHalts++;
      // BOT 1.0 §6.6.1: after an invalid CBW the device keeps stalling until reset recovery.
      if (!this.#needsReset) this.#halted[pipe] = false;
      queueMicrotask(() => this.#kick());
    });
  }

  #classRequest(conn: Connection, request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    return this.#control<ControlResult>(conn, options, () => {
      if (request.request === 'get-max-lun') {
        // BOT 1.0 §3.2: Get Max LUN returns the highest LUN number (one byte).
        if (this.#takeFault('get-max-lun-stall', undefined, undefined)) return { status: 'stall', data: EMPTY };
        const override = this.options.getMaxLun;
        if (override === 'stall') return { status: 'stall', data: EMPTY };
        return { status: 'ok', data: Uint8Array.of((override ?? this.#luns.length - 1) & 0xff) };
      }
      if (request.request === 'bulk-only-reset') {
        if (this.#takeFault('reset-stall', undefined, undefined)) return { status: 'stall', data: EMPTY };
        this.#stats.bulkOnlyResets++;
        this.#reset(false);
        return { status: 'ok', data: EMPTY };
      }
      throw new InvalidArgumentError(`unknown class request ${JSON.stringify(request)}`);
    });
  }

  #portReset(conn: Connection, options: TransferOptions): Promise<void> {
    return this.#control<void>(conn, options, () => {
      if (this.#takeFault('port-reset-fail', undefined, undefined)) {
        throw new TransportError('The simulated port reset failed (injected fault); the device did not re-enumerate');
      }
      this.#stats.portResets++;
      // A USB reset cancels every transfer in flight on the device's endpoints.
      for (const slot of ['in', 'out'] as const) {
        const p = conn.pending[slot];
        if (p && p.state !== 'done') {
          p.state = 'done';
          p.cleanup();
          p.reject(new TransportError(`bulk-${slot} transfer cancelled by port reset`));
        }
      }
      this.#reset(true);
    });
  }

  /**
   * Bulk-Only Mass Storage Reset (BOT 1.0 §3.1): ready for the next CBW; the
   * endpoint halt state is preserved (the host clears it). A port reset also
   * clears the halts.
   */
  #reset(port: boolean): void {
    this.#endActive('reset');
    this.#hung = false;
    this.#needsReset = false;
    this.#phaseErrorPending = false;
    if (port) this.#halted = { in: false, out: false };
    if (this.options.unitAttentionOnReset ?? false) {
      for (const lu of this.#luns) lu.pendingUnitAttention = Sense.powerOnReset();
    }
    // Each armed 'unit-attention' fault counts one hit per reset, whatever the number of LUNs it covers.
    for (const f of [...this.#faults]) {
      const fault = f.fault;
      if (fault.kind !== 'unit-attention' || f.done) continue;
      for (const lu of this.#luns) {
        if (fault.lun === undefined || fault.lun === lu.index) {
          lu.pendingUnitAttention = { key: 0x06, asc: fault.asc ?? 0x29, ascq: fault.ascq ?? 0x00 };
        }
      }
      f.fire();
    }
    queueMicrotask(() => this.#kick());
  }
}
