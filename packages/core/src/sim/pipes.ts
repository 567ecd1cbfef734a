/**
 * The simulated device's pipes: a transfer scheduler that knows nothing of BOT. Each bulk pipe holds at
 * most one pending transfer; a transfer asks the device model for an answer, and while the model says
 * WAIT (a NAK) it stays pending until the model's state changes (`kick()`), it times out, is aborted,
 * or the device goes away. Latency (`transferDelayMs`, `bytesPerSecond`) is added here.
 */

import { AbortError, ClosedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError } from '../errors.js';
import { Listeners } from '../listeners.js';
import { startTimer, type Timer } from '../timer.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '../transport.js';

/** The device model's "not now" (the device NAKs the token): the transfer waits for `kick()`. */
export const WAIT: unique symbol = Symbol('wait');
export type Wait = typeof WAIT;

/** dCBWDataTransferLength and a bulk transfer's length are 32-bit (BOT 1.0 §5.1). */
const MAX_TRANSFER_LENGTH = 0xffffffff;

/** What answers the pipes: the BOT device model. Every method runs when the device can act on the request. */
export interface SimDeviceModel {
  serveOut(data: Uint8Array): BulkOutResult | Wait;
  serveIn(length: number): BulkInResult | Wait;
  clearHalt(pipe: 'in' | 'out'): void;
  classRequest(request: ClassRequest): ControlResult;
  /** A USB port reset; `cancelTransfers` ends the bulk transfers in flight. Throws when the reset fails. */
  portReset(cancelTransfers: () => void): void;
  /** A second transfer on a busy endpoint, a host bug: recorded; returns the error to reject it with, if any. */
  concurrentTransfer(message: string): Error | undefined;
}

/** Timing and shape of the pipes. */
export interface SimPipeOptions {
  info: TransportInfo;
  transferDelayMs?: number | undefined;
  bytesPerSecond?: number | undefined;
  /** Whether the transport offers `portReset`. */
  portReset: boolean;
}

interface Pending {
  attempt: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  state: 'waiting' | 'delivering' | 'done';
  cleanup: () => void;
}

/** One claim of the interface: its transport object, pending transfers and disconnect listeners. */
interface Connection {
  transport: MscTransport;
  state: 'open' | 'closed' | 'disconnected';
  listeners: Listeners;
  pending: { in: Pending | undefined; out: Pending | undefined };
  controls: Set<Pending>;
}

/** The scheduler of one simulated device's bulk and control pipes, over successive connections. */
export class SimPipes {
  readonly #model: SimDeviceModel;
  readonly #options: SimPipeOptions;
  #conn: Connection;

  constructor(model: SimDeviceModel, options: SimPipeOptions) {
    this.#model = model;
    this.#options = options;
    this.#conn = this.#connect();
  }

  /** The transport of the current connection. */
  get transport(): MscTransport {
    return this.#conn.transport;
  }

  /** `open`, `closed` (the host released it) or `disconnected` (unplugged). */
  get state(): Connection['state'] {
    return this.#conn.state;
  }

  /** Unplugs: pending transfers reject with DisconnectedError; disconnect listeners fire if the host had it open. */
  disconnect(): void {
    const conn = this.#conn;
    if (conn.state === 'disconnected') return;
    const wasOpen = conn.state === 'open';
    conn.state = 'disconnected';
    this.#rejectAll(conn, () => new DisconnectedError('The simulated USB device was disconnected'));
    if (wasOpen) conn.listeners.emit();
  }

  /** Releases the current connection if it is open (its transfers reject with ClosedError) and starts a new one. */
  reconnect(reason: string): MscTransport {
    const conn = this.#conn;
    if (conn.state === 'open') {
      conn.state = 'closed';
      this.#rejectAll(conn, () => new ClosedError(reason));
    }
    this.#conn = this.#connect();
    return this.#conn.transport;
  }

  /** The device model's state changed: retry the transfers it was NAKing. */
  kick(): void {
    const conn = this.#conn;
    if (conn.pending.out) this.#try(conn.pending.out);
    if (conn.pending.in) this.#try(conn.pending.in);
  }

  #connect(): Connection {
    const transport: MscTransport = {
      info: this.#options.info,
      // One pending transfer per pipe; early IN tokens are NAKed (or, with stallEarlyIn, stalled) by the model.
      concurrentPipes: true,
      bulkOut: (data, options) =>
        this.#transfer(
          conn,
          'out',
          data.length,
          options,
          () => this.#model.serveOut(data),
          (r) => r.bytesWritten,
        ),
      bulkIn: (length, options) => this.#bulkIn(conn, length, options),
      clearHalt: (pipe, options) => this.#clearHalt(conn, pipe, options),
      classRequest: (request, options) => this.#control(conn, options, () => this.#model.classRequest(request)),
      close: async () => {
        if (conn.state !== 'open') return;
        conn.state = 'closed';
        this.#rejectAll(conn, () => new ClosedError('The simulated device interface was released'));
      },
      onDisconnect: (listener) => conn.listeners.add(listener),
    };
    if (this.#options.portReset) transport.portReset = (options) => this.#portReset(conn, options);
    const conn: Connection = { state: 'open', listeners: new Listeners(), pending: { in: undefined, out: undefined }, controls: new Set(), transport };
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
    const fixed = this.#options.transferDelayMs ?? 0;
    const bps = this.#options.bytesPerSecond;
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
      const max = this.#options.info.maxTransferSize;
      if (max !== undefined && slot !== 'control' && size > max) {
        throw new InvalidArgumentError(`a ${size}-byte bulk transfer exceeds this platform's limit of ${max} bytes; split it`);
      }
      if (slot !== 'control' && conn.pending[slot]) {
        const error = this.#model.concurrentTransfer(`a second bulk-${slot.toUpperCase()} transfer was submitted while one is pending on that endpoint`);
        throw error ?? new TransportError(`bulk-${slot} endpoint busy: one transfer is already pending`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // Fast path: no latency configured and the device can answer now, so no
    // timer, listener or pending record is needed.
    let waited = false;
    if ((this.#options.transferDelayMs ?? 0) <= 0 && this.#options.bytesPerSecond === undefined) {
      let r: T | Wait;
      try {
        r = attempt();
      } catch (error) {
        return Promise.reject(error);
      }
      if (r !== WAIT) {
        if (slot !== 'control' && conn.pending[slot === 'in' ? 'out' : 'in']) queueMicrotask(() => this.kick());
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
        if (slot !== 'control' && conn.pending[slot === 'in' ? 'out' : 'in']) queueMicrotask(() => this.kick());
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

  #bulkIn(conn: Connection, length: number, options: BulkInOptions): Promise<BulkInResult> {
    if (!Number.isInteger(length) || length < 0 || length > MAX_TRANSFER_LENGTH) {
      return Promise.reject(new InvalidArgumentError(`bulk-IN length ${length} must be an integer 0..${MAX_TRANSFER_LENGTH}`));
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
        const r = this.#model.serveIn(length);
        if (r === WAIT || !into || r.data.length === 0) return r;
        into.set(r.data);
        return { status: r.status, data: into.subarray(0, r.data.length) };
      },
      (r) => r.data.length,
    );
  }

  #control<T>(conn: Connection, options: TransferOptions, attempt: () => T | Wait): Promise<T> {
    return this.#transfer<T>(conn, 'control', 0, options, attempt, () => 0);
  }

  #clearHalt(conn: Connection, pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    if (pipe !== 'in' && pipe !== 'out') return Promise.reject(new InvalidArgumentError(`clearHalt pipe must be 'in' or 'out', got ${String(pipe)}`));
    return this.#control<void>(conn, options, () => {
      this.#model.clearHalt(pipe);
      queueMicrotask(() => this.kick());
    });
  }

  #portReset(conn: Connection, options: TransferOptions): Promise<void> {
    return this.#control<void>(conn, options, () => {
      this.#model.portReset(() => {
        // A USB reset cancels every transfer in flight on the device's endpoints.
        for (const slot of ['in', 'out'] as const) {
          const p = conn.pending[slot];
          if (p && p.state !== 'done') {
            p.state = 'done';
            p.cleanup();
            p.reject(new TransportError(`bulk-${slot} transfer cancelled by port reset`));
          }
        }
      });
    });
  }
}
