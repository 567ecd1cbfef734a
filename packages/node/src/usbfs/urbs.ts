/**
 * The URBs of one usbfs file descriptor (linux/usbdevice_fs.h): their memory,
 * submission in batches, cancellation, reaping (on the main thread first, then
 * by the reaper thread) and delivery of each completion (what it means under
 * the transport contract: outcome.ts). `UsbfsTransport` (transport.ts) decides
 * which transfers a BOT stage needs; this file owns how they reach the kernel
 * and come back.
 */

import { AbortError, ClosedError, DisconnectedError, type TransferOptions, TransportError, type UsbmsError } from '@usbms/core';
import { endedInFull, withoutStack } from '@usbms/core/internal';
import { decodeUrbCompletion, Errno, encodeUrb, type UrbCompletion, UsbfsIoctl, UsbfsSize } from './abi.js';
import { isGone, urbOutcome, usbfsErrnoError } from './outcome.js';
import { type ReaperEvent, URB_CONTEXT_HOLD, type UsbfsReaper, type UsbfsSys } from './sys.js';
import { chainAllows, SubmittedUrb, type Urb, type UrbDelivery, UrbRequest, type UrbResult } from './urb.js';

export type { Urb, UrbResult } from './urb.js';
export { UrbRequest } from './urb.js';

/** Why a chained request was never submitted (the engine tells these apart: `details.notSubmitted`; a marker, built without a stack). */
const notSubmittedError = (): AbortError =>
  withoutStack(() => new AbortError('Not submitted: the transfer before it did not end in full', { details: { notSubmitted: true } }));

/** URB slots per device: a BOT command needs at most four in flight (CBW, data, status read ahead, control). */
const URB_SLOTS = 32;
/** A transfer's request resolves through its `result`, not on submission. */
const ignore = (): void => undefined;

/** Counters of the transport's work, for benchmarks. */
export interface UsbfsStats {
  /** URBs submitted. */
  urbs: number;
  /** Messages from the reaper thread: main-thread wake-ups for completions and blocking calls. */
  wakeups: number;
  /** URBs the main thread reaped itself (no wake-up). */
  mainThreadReaps: number;
  /** Times the main thread left the waiting to the reaper thread (a command outlasted `mainThreadReapMs`). */
  handOffs: number;
  /** Times the reaper thread left poll(2); and the summed time from its posts to the main thread's handling, ms. */
  reaperWakeups: number;
  handoffMs: number;
  /** URBs the kernel ended early because they were discarded (DISCARDURB: an abort, a time limit, recovery, close): status -ECONNRESET or -ENOENT. */
  cancelled: number;
}

/** One entry of {@link UrbQueue.timeline}: when a URB was submitted or reaped (performance.now()). */
export interface UrbEvent {
  t: number;
  /** For a submission: when the SUBMITURB call started (t is when it returned). */
  start?: number;
  event: 'submit' | 'reap' | 'discard';
  endpoint: number;
  length: number;
}

export interface UrbQueueInit {
  sys: UsbfsSys;
  fd: number;
  /** "interface N of VID:PID", for messages. */
  subject: string;
  /** See UsbfsTransportOptions.mainThreadReapMs; 0: the reaper thread reaps everything. */
  mainThreadReapMs: number;
  /** Decides, when a batch is submitted, whether a URB's full success may be held by the reaper thread. */
  holdRule: (request: UrbRequest, batch: readonly UrbRequest[], laterFrom: number) => boolean;
  /** The device is gone (ENODEV/ESHUTDOWN anywhere). */
  onGone: () => void;
  /** A URB is about to be discarded (the transport forgets a status read queued ahead). */
  onCancel: (urb: Urb) => void;
  /** Whether the transport is closing (a cancelled URB then rejects ClosedError). */
  closed: () => boolean;
  /** Whether the device is known to be gone (nothing is submitted then). */
  disconnected: () => boolean;
}

/** Reaping turns per clock read (see `UrbQueue.#pump`). */
const CLOCK_TURNS = 8;

/**
 * URBs the main thread reaps in one turn of the event loop before it lets timers and I/O run
 * (a caller's abort, another device). On QEMU's emulated controllers under TCG a transfer has
 * often completed by the time SUBMITURB returns, so reaping never ran dry: a pipeline job's
 * 48 URBs went in one turn and an abort from a timer waited for the whole job.
 */
const REAPS_PER_TURN = 12;

/**
 * Every URB of one usbfs fd. Submissions of one engine step are batched (a
 * microtask) so the hold rule sees them together. Completions are reaped by
 * the main thread itself (REAPURBNDELAY between event-loop turns, never
 * blocking) for `mainThreadReapMs` after each submission; a command that takes
 * longer is left to the reaper thread, which posts its completions (one
 * main-thread wake-up), and the main thread takes over again once nothing is
 * in flight.
 */
export class UrbQueue {
  readonly stats: UsbfsStats = { urbs: 0, wakeups: 0, mainThreadReaps: 0, handOffs: 0, reaperWakeups: 0, handoffMs: 0, cancelled: 0 };
  readonly reaper: UsbfsReaper;
  readonly #init: UrbQueueInit;
  /**
   * One fixed allocation for every URB struct of this fd: the kernel writes results back
   * into it, and the reaper thread reads them there (hence shared memory).
   */
  readonly #slab = new Uint8Array(new SharedArrayBuffer(UsbfsSize.urb * URB_SLOTS));
  /** The address of each slot's URB struct (the kernel hands it back on reap). */
  readonly #slotAddresses: bigint[] = [];
  /** Each slot's bytes and a DataView over them, made once. */
  readonly #slotBytes: Uint8Array[] = [];
  readonly #slotViews: DataView[] = [];
  /** During a reaping turn or batch: its performance.now(), once read. */
  #turnTime: number | undefined;
  /** Inside a reaping turn or a batch submission: `#now` keeps its first reading in `#turnTime`. */
  #inTurn = false;
  /** The last clock read of the reaping turns, and how many turns may still use it. */
  #clock: number | undefined;
  #clockTurns = 0;
  /** Whether the reaper's port keeps the process alive (URBs in flight and the reaper thread waiting). */
  #reffed = false;
  readonly #freeSlots: number[] = [];
  /**
   * The URB in flight in each slot. An array indexed by slot, not a Map keyed by address: a Map
   * that empties and fills on every command reallocates its table each time (V8 shrinks it), and
   * a reaped address is a slot by arithmetic.
   */
  readonly #inflight: (Urb | undefined)[] = new Array<Urb | undefined>(URB_SLOTS).fill(undefined);
  /** The slab's user address, as a number (exact: user addresses are below 2^53). */
  readonly #slabAddress: number;
  #batch: UrbRequest[] = [];
  /** The request enqueued last: a chained request follows it. */
  #last: UrbRequest | undefined;
  #sequence = 0;
  /** REAPURBNDELAY's out argument: the reaped URB's user address. */
  readonly #reaped = new Uint8Array(UsbfsSize.pointer);
  readonly #reapedView = new DataView(this.#reaped.buffer);
  /** The main thread reaps until then (performance.now()); then the reaper thread waits. */
  #reapUntil = 0;
  #pumping = false;
  /** The reaper thread waits for completions (until nothing is in flight). */
  #handedOff = false;
  /** When set (benchmarks), every submission and completion is appended: where a command's time goes. */
  timeline: UrbEvent[] | undefined;

  constructor(init: UrbQueueInit) {
    this.#init = init;
    const slab = init.sys.addressOf(this.#slab);
    this.#slabAddress = Number(slab);
    for (let i = 0; i < URB_SLOTS; i++) {
      this.#slotAddresses.push(slab + BigInt(i * UsbfsSize.urb));
      this.#slotBytes.push(this.#slab.subarray(i * UsbfsSize.urb, (i + 1) * UsbfsSize.urb));
      this.#slotViews.push(new DataView(this.#slab.buffer, i * UsbfsSize.urb, UsbfsSize.urb));
    }
    for (let i = URB_SLOTS - 1; i >= 0; i--) this.#freeSlots.push(i);
    this.reaper = init.sys.startReaper(init.fd, this.#slab, (event) => this.#onReaperEvent(event));
    if (init.mainThreadReapMs <= 0) {
      this.#handedOff = true;
      this.reaper.watch(true);
    }
  }

  /** URBs submitted and not reaped yet. */
  get inflight(): Urb[] {
    return this.#inflightUrbs();
  }

  /** The URBs in flight, in submission order. */
  #inflightUrbs(): Urb[] {
    const urbs: Urb[] = [];
    for (const urb of this.#inflight) if (urb !== undefined) urbs.push(urb);
    return urbs.sort((a, b) => a.sequence - b.sequence);
  }

  /** Nothing in flight: a slot is taken from its SUBMITURB until its reap. */
  #noneInflight(): boolean {
    return this.#freeSlots.length === URB_SLOTS;
  }

  /** The URB in flight at a user address the kernel handed back, if it is one of ours. */
  #inflightAt(address: number): Urb | undefined {
    const offset = address - this.#slabAddress;
    if (offset < 0 || offset >= URB_SLOTS * UsbfsSize.urb || offset % UsbfsSize.urb !== 0) return undefined;
    return this.#inflight[offset / UsbfsSize.urb];
  }

  /** Whether a URB is in flight, or waits in the batch, on `endpoint`. */
  hasInflight(endpoint: number): boolean {
    for (const urb of this.#inflight) if (urb?.endpoint === endpoint) return true;
    return this.#batch.some((r) => r.endpoint === endpoint);
  }

  /**
   * Adds a URB to the next batch (submitted at the end of this microtask), or, when `chained`, has it
   * wait for the request enqueued before it: submitted the moment that one ends in full (from the
   * reaping turn that saw it end), never if it ends otherwise.
   */
  enqueue(request: UrbRequest): void {
    const previous = this.#last;
    this.#last = request;
    if (request.options?.together === true && previous !== undefined) {
      if (previous.waiting) {
        previous.companion = request;
        return;
      }
      if (previous.ended === 'short' && !previous.submitted) {
        this.#breakChain(request);
        return;
      }
    }
    if (request.chained) {
      if (previous !== undefined && previous.ended === undefined) {
        previous.follower = request;
        request.waiting = true;
        return;
      }
      if (previous?.ended !== 'full' || !chainAllows(request, previous.buffer, previous.actual)) {
        this.#breakChain(request);
        return;
      }
    }
    // A resolved promise rather than queueMicrotask, which wraps each callback in an AsyncResource.
    if (this.#batch.length === 0) void Promise.resolve().then(this.#flush);
    this.#batch.push(request);
  }

  /**
   * Queues one URB and resolves, the moment it is reaped, with its result under the transport
   * contract as `deliver` makes it from the URB's buffer. One promise for submission and completion,
   * and the transport returns it as its own: each await or async wrapper costs a turn of the
   * microtask queue, and an abort breaking a pipeline job's chain rejects some forty at once.
   */
  transfer<T>(type: number, endpoint: number, buffer: Uint8Array, options: TransferOptions, deliver: UrbDelivery<T>['deliver']): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const result: UrbDelivery<T> = { resolve, reject, deliver };
      this.enqueue(new UrbRequest(type, endpoint, buffer, false, options, ignore, reject, options.chained === true, result as UrbDelivery<unknown>));
    });
  }

  /** Queues one URB; resolves once it is submitted. */
  submit(type: number, endpoint: number, buffer: Uint8Array, hold: boolean, options: TransferOptions): Promise<Urb> {
    const chained = options.chained === true;
    return new Promise<Urb>((resolve, reject) => this.enqueue(new UrbRequest(type, endpoint, buffer, hold, options, resolve, reject, chained, undefined)));
  }

  /** Submits the batch; a URB that fails to submit fails the later ones of its step too. */
  readonly #flush = (): void => {
    const batch = this.#batch;
    this.#batch = [];
    // One clock read for the batch (`#now`): its URBs count their time limits from its submission.
    const outer = this.#inTurn;
    this.#inTurn = true;
    try {
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as UrbRequest;
        const hold = r.hold || this.#init.holdRule(r, batch, i + 1);
        try {
          r.resolve(this.#submitNow(r, hold));
          r.submitted = true;
        } catch (error) {
          for (let j = i; j < batch.length; j++) this.#fail(batch[j] as UrbRequest, error);
          return;
        }
      }
    } finally {
      this.#inTurn = outer;
      if (!outer) this.#turnTime = undefined;
    }
  };

  /**
   * A request that will not be submitted: it rejects, and so does whatever was chained to it, all
   * with one error (`notSubmitted`, built once for the whole chain: a pipeline job that breaks early
   * has some forty requests behind it, and an error's stack costs microseconds each).
   */
  #fail(request: UrbRequest, error: unknown, notSubmitted?: AbortError): void {
    request.ended = 'short';
    request.waiting = false;
    request.reject(error);
    if (request.companion === undefined && request.follower === undefined) return;
    const chained = notSubmitted ?? notSubmittedError();
    if (request.companion !== undefined) this.#fail(request.companion, chained, chained);
    if (request.follower !== undefined) this.#fail(request.follower, chained, chained);
  }

  #breakChain(request: UrbRequest): void {
    const error = notSubmittedError();
    this.#fail(request, error, error);
  }

  #submitNow(request: UrbRequest, hold: boolean): Urb {
    const { type, endpoint, buffer, options } = request;
    const { sys, fd, subject } = this.#init;
    if (this.#init.disconnected()) throw new DisconnectedError(`The USB device was disconnected (${subject})`);
    if (this.#init.closed()) throw new ClosedError(`The transport for ${subject} is closed`);
    if (options?.signal?.aborted === true) {
      const reason: unknown = options.signal.reason;
      throw withoutStack(() => new AbortError('The transfer was aborted before it was submitted', { cause: reason, details: { notSubmitted: true } }));
    }
    const slot = this.#freeSlots.pop();
    if (slot === undefined) throw new TransportError(`More than ${URB_SLOTS} transfers in flight on ${subject}`);
    const start = this.timeline === undefined ? 0 : performance.now();
    const bytes = this.#slotBytes[slot] as Uint8Array;
    encodeUrb(
      bytes,
      {
        type,
        endpoint,
        flags: 0,
        buffer: buffer.length === 0 ? 0n : sys.addressOf(buffer),
        bufferLength: buffer.length,
        usercontext: hold ? URB_CONTEXT_HOLD : 0n,
      },
      this.#slotViews[slot],
    );
    const address = this.#slotAddresses[slot] as bigint;
    const rc = sys.ioctl(fd, UsbfsIoctl.SUBMITURB, bytes);
    if (rc < 0) {
      this.#freeSlots.push(slot);
      throw this.errnoError(-rc, 'SUBMITURB');
    }
    this.stats.urbs++;
    this.timeline?.push({ t: performance.now(), start, event: 'submit', endpoint, length: buffer.length });
    const urb = new SubmittedUrb(slot, address, endpoint, ++this.#sequence, buffer, request);
    // While the main thread reaps, its pending setImmediate keeps the process alive; the reaper
    // thread's port does only once the waiting is handed to it.
    if (this.#handedOff) this.#ref(true);
    this.#inflight[slot] = urb;
    if (options !== undefined) this.arm(urb, options);
    if (!this.#handedOff) {
      this.#reapUntil = this.#now() + this.#init.mainThreadReapMs;
      this.#schedulePump();
    }
    return urb;
  }

  /**
   * The main thread's reaping: every completed URB, once per event-loop turn, until nothing
   * is in flight or the time is up; then the reaper thread waits (one wake-up when it ends).
   */
  readonly #pump = (): void => {
    this.#pumping = false;
    if (this.#handedOff) return;
    // Time limits are checked with a clock read every CLOCK_TURNS turns, not every turn: a precise
    // clock read can cost more than the turn's own work (16 us through the emulated HPET of a QEMU
    // TCG guest, where a loop of them slowed the kernel's own dd by 10-40%), and time limits are
    // milliseconds where a turn is tens of microseconds. An older reading only makes a time limit
    // fire a few turns late, never early; what a turn submits reads the clock anew (`#now`).
    const fresh = this.#clockTurns <= 0 || this.#clock === undefined;
    if (fresh) {
      this.#clock = performance.now();
      this.#clockTurns = CLOCK_TURNS;
    }
    this.#clockTurns--;
    this.#inTurn = true;
    this.#turnTime = fresh ? this.#clock : undefined;
    try {
      this.#pumpTurn(this.#clock as number);
    } finally {
      this.#inTurn = false;
      this.#turnTime = undefined;
      // Stopped (nothing in flight, or handed to the reaper thread): the next start reads the clock.
      if (!this.#pumping) this.#clock = undefined;
    }
  };

  #pumpTurn(t: number): void {
    // Time limits and aborts, checked here rather than by a timer and a listener per URB (which
    // cost more than the reaping itself; armed for real at hand-off), and before reaping, as a
    // timer would have fired first: a URB that ends as its time runs out counts as timed out.
    let due: Urb[] | undefined;
    for (const urb of this.#inflight) {
      if (urb === undefined || urb.cancelled !== undefined || (urb.signal?.aborted !== true && t < urb.deadline)) continue;
      due ??= [];
      due.push(urb);
    }
    // In submission order (slots are not): an earlier URB's cancel takes the ones behind it on its endpoint first.
    for (const urb of due?.sort((a, b) => a.sequence - b.sequence) ?? []) {
      if (urb.cancelled === undefined) this.cancel(urb, urb.signal?.aborted === true ? 'abort' : 'timeout');
    }
    this.#reapCompleted();
    if (this.#noneInflight() || this.#handedOff) return;
    if (t >= this.#reapUntil) {
      this.#handedOff = true;
      this.stats.handOffs++;
      this.#ref(true);
      for (const urb of this.#inflight) if (urb !== undefined) this.#watch(urb);
      this.reaper.watch(true);
      return;
    }
    this.#schedulePump();
  }

  /**
   * Asks for the next reaping turn, once: a URB submitted during a turn asks too, and a second
   * pending turn for the same work would keep timers and I/O waiting (see REAPS_PER_TURN).
   */
  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    setImmediate(this.#pump);
  }

  #ref(active: boolean): void {
    if (this.#reffed === active) return;
    this.#reffed = active;
    this.reaper.ref(active);
  }

  /** The time (performance.now()), read once per reaping turn or batch (the first that asks), else now. */
  #now(): number {
    if (this.#turnTime !== undefined) return this.#turnTime;
    const t = performance.now();
    if (this.#inTurn) this.#turnTime = t;
    return t;
  }

  /** REAPURBNDELAY until nothing more has completed (EAGAIN), the device is gone (ENODEV), or REAPS_PER_TURN. */
  #reapCompleted(): void {
    for (let reaps = 0; reaps < REAPS_PER_TURN; ) {
      const rc = this.#init.sys.ioctl(this.#init.fd, UsbfsIoctl.REAPURBNDELAY, this.#reaped);
      if (rc < 0) {
        if (-rc === Errno.EINTR) continue;
        if (-rc === Errno.EAGAIN) return;
        // ENODEV (devio.c proc_reapurbnonblock): disconnected and nothing left to reap; EBADF and
        // the like would repeat forever. Either way nothing more completes.
        this.#gone();
        return;
      }
      // The address as a number: two 32-bit halves, no BigInt made per reap.
      const view = this.#reapedView;
      const urb = this.#inflightAt(view.getUint32(4, true) * 0x1_0000_0000 + view.getUint32(0, true));
      if (urb === undefined) continue;
      reaps++;
      this.stats.mainThreadReaps++;
      this.#complete(urb, this.#completionOf(urb));
      // Nothing else in flight: nothing else can complete (saves a system call per command).
      if (this.#noneInflight()) return;
    }
  }

  /**
   * Gives a URB its time limit and abort signal. While the main thread reaps, each of its turns
   * checks them; once the reaper thread waits, a timer and an abort listener watch it (#watch).
   */
  arm(urb: Urb, options: TransferOptions): void {
    urb.cleanup?.();
    urb.cleanup = undefined;
    // A status read taken after it was reaped (it came with the data) needs no watch.
    if (this.#inflight[urb.slot] !== urb) return;
    urb.deadline = this.#now() + options.timeoutMs;
    urb.timeoutMs = options.timeoutMs;
    urb.signal = options.signal;
    if (options.signal?.aborted === true) this.cancel(urb, 'abort');
    else if (this.#handedOff) this.#watch(urb);
  }

  /** A timer for the URB's time limit and a listener on its signal (the main thread no longer polls). */
  #watch(urb: Urb): void {
    if (urb.cleanup !== undefined || urb.cancelled !== undefined) return;
    const timer = setTimeout(() => this.cancel(urb, 'timeout'), Math.max(0, urb.deadline - performance.now()));
    const signal = urb.signal;
    const onAbort = (): void => this.cancel(urb, 'abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    urb.cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /** DISCARDURB: the kernel unlinks it and it completes with -ECONNRESET/-ENOENT (or it had completed already). */
  cancel(urb: Urb, why: 'abort' | 'timeout' | 'internal'): void {
    // The slot may belong to a later URB by now: only this URB, while in flight.
    if (this.#inflight[urb.slot] !== urb || urb.cancelled !== undefined) return;
    // A URB queued behind this one on its endpoint would become active and take its data: those go first.
    const behind = this.#inflightUrbs().filter((u) => u.endpoint === urb.endpoint && u.sequence > urb.sequence);
    for (const later of behind.reverse()) this.cancel(later, 'internal');
    urb.cancelled = why;
    this.#init.onCancel(urb);
    this.#init.sys.ioctlAddress(this.#init.fd, UsbfsIoctl.DISCARDURB, urb.address);
    this.timeline?.push({ t: performance.now(), event: 'discard', endpoint: urb.endpoint, length: urb.buffer.length });
    // EINVAL means it completed already; the reaper may be holding it: ask for it.
    this.reaper.flush();
  }

  /**
   * Discards every URB on `endpoint` (before CLEAR_HALT or a reset), or every URB in flight
   * (close), later ones first, and waits until they are reaped.
   */
  async discard(endpoint?: number): Promise<void> {
    const urbs = this.#inflightUrbs().filter((u) => endpoint === undefined || u.endpoint === endpoint);
    for (const urb of urbs.reverse()) this.cancel(urb, 'internal');
    await Promise.all(urbs.map((u) => u.done));
  }

  #onReaperEvent(event: ReaperEvent): void {
    this.stats.wakeups++;
    this.stats.reaperWakeups += event.polls ?? 0;
    if (event.postedAt !== undefined) this.stats.handoffMs += performance.timeOrigin + performance.now() - event.postedAt;
    for (const address of event.reaped) {
      const urb = this.#inflightAt(Number(address));
      if (urb === undefined) continue;
      this.#complete(urb, this.#completionOf(urb));
    }
    if (event.gone) this.#gone();
  }

  /** Nothing more will be reaped: whatever the kernel did not hand back is over. */
  #gone(): void {
    this.#init.onGone();
    for (const urb of this.#inflightUrbs()) this.#complete(urb, { status: -Errno.ENODEV, actualLength: 0 });
  }

  /** What the kernel wrote back into a reaped URB's slot. */
  #completionOf(urb: Urb): UrbCompletion {
    return decodeUrbCompletion(this.#slotBytes[urb.slot] as Uint8Array, this.#slotViews[urb.slot]);
  }

  #complete(urb: Urb, completion: UrbCompletion): void {
    this.timeline?.push({ t: performance.now(), event: 'reap', endpoint: urb.endpoint, length: completion.actualLength });
    this.#inflight[urb.slot] = undefined;
    this.#freeSlots.push(urb.slot);
    urb.cleanup?.();
    if (urb.cancelled !== undefined && (-completion.status === Errno.ECONNRESET || -completion.status === Errno.ENOENT)) this.stats.cancelled++;
    const request = urb.request;
    const full =
      urb.cancelled === undefined &&
      endedInFull(urb.endpoint & 0x80 ? 'in' : 'out', urb.buffer.length, completion.status === 0, Math.max(0, completion.actualLength));
    request.ended = full ? 'full' : 'short';
    if (full) request.actual = completion.actualLength;
    urb.settle(completion);
    const result = request.result;
    if (result !== undefined) {
      // From a reaping turn: whoever learns of the device's loss hears of it from the event loop.
      if (isGone(completion)) queueMicrotask(this.#init.onGone);
      let value: UrbResult | undefined;
      try {
        value = this.#resultOf(urb, completion);
      } catch (error) {
        result.reject(error);
      }
      if (value !== undefined) result.resolve(result.deliver(value, urb.buffer));
    }
    const follower = request.follower;
    request.follower = undefined;
    if (follower !== undefined) {
      // The next stage goes now, from this reaping turn: no round trip through the engine.
      if (!full || !chainAllows(follower, urb.buffer, completion.actualLength)) this.#breakChain(follower);
      else {
        follower.waiting = false;
        try {
          follower.resolve(this.#submitNow(follower, false));
          follower.submitted = true;
        } catch (error) {
          this.#fail(follower, error); // and its companion, never submitted
        }
        const companion = follower.companion;
        follower.companion = undefined;
        if (companion !== undefined && follower.submitted) {
          try {
            companion.resolve(this.#submitNow(companion, false));
          } catch (error) {
            this.#fail(companion, error);
          }
        }
      }
    }
    if (this.#noneInflight()) {
      this.#ref(false);
      if (this.#handedOff && this.#init.mainThreadReapMs > 0) {
        // Nothing in flight, so the thread holds nothing back: the main thread reaps the next command's URBs.
        this.#handedOff = false;
        this.reaper.watch(false);
      }
    }
  }

  /** The result of a reaped URB under the transport contract: stall and babble are results, the rest errors. */
  async outcome(urb: Urb, options: TransferOptions): Promise<UrbResult> {
    const completion = await urb.done;
    urb.timeoutMs = options.timeoutMs;
    if (isGone(completion)) this.#init.onGone();
    return this.#resultOf(urb, completion);
  }

  #resultOf(urb: Urb, completion: UrbCompletion): UrbResult {
    return urbOutcome(urb, completion, this.#init.subject, this.#init.closed);
  }

  /** An errno from a usbfs call as a typed error (ENODEV/ESHUTDOWN also tell `onGone`). */
  errnoError(errno: number, what: string): UsbmsError {
    if (errno === Errno.ENODEV || errno === Errno.ESHUTDOWN) this.#init.onGone();
    return usbfsErrnoError(errno, what, this.#init.subject);
  }
}
