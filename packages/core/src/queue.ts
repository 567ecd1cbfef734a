import { abortReason, SpareController } from './bot/abort.js';
import { unavailableError } from './device-state.js';
import { ClosedError, DeviceFailedError, DisconnectedError, TimeoutError, type UsbmsError } from './errors.js';
import { type AnyEntry, Entry, JobContext } from './queue-job.js';
import { checkTimeout, DeadlineClock, startTimer, type Timer } from './timer.js';

/** What a job receives. `signal` fires when the caller aborts, the job times out, or the queue fails. */
export interface QueueJobContext {
  readonly signal: AbortSignal;
  /**
   * The job no longer touches its caller's memory (its transfers have ended): a caller who gave up
   * (abort, timeout) while it ran is told now, not only when the job settles. Idempotent; only
   * meaningful with `QueueRunOptions.holdUntilReleased`.
   */
  release(): void;
}

/** One job of the command queue; `context.signal` fires when its caller gave up (abort or timeout), so it can cut its work short. */
export type QueueJob<T> = (context: QueueJobContext) => Promise<T>;

/** Options of `CommandQueue.run`. */
export interface QueueRunOptions {
  /** Higher runs first (across lanes too); FIFO among equal priorities of one lane. Default 0. */
  priority?: number;
  /**
   * Aborts this job: dropped if still queued; if running, `context.signal` fires and the caller's
   * promise rejects at once (with `holdUntilReleased`: once the job calls `context.release()` or settles).
   */
  signal?: AbortSignal | undefined;
  /**
   * The job writes into memory its caller owns (a buffer a transfer fills in place until it ends):
   * a caller who gives up while it runs is told once the job has released that memory
   * (`context.release()`) or settled, so the buffer is never written after the caller's promise
   * settled. The job must release promptly once `context.signal` fires. Default false.
   */
  holdUntilReleased?: boolean | undefined;
  /**
   * Time limit from the moment the job starts (queue wait does not count), in
   * ms; `Infinity` for none. When it passes, the caller's promise rejects with
   * TimeoutError and `context.signal` fires with that error as its reason.
   * NaN, 0 or a negative value is refused with InvalidArgumentError.
   */
  timeoutMs?: number;
  /** Names the job in error messages, e.g. "READ(10)". */
  name?: string;
  /**
   * The lane (e.g. one client of a shared device) the job belongs to. Lanes
   * take turns (round robin) among jobs of the same priority; a lane holding
   * a lease (see `CommandQueue.lease`) runs alone. Default: one shared lane.
   */
  lane?: string;
}

/** Options of `CommandQueue.close`. */
export interface QueueCloseOptions {
  /** Reject queued (not yet started) jobs with ClosedError instead of running them. Default false. */
  rejectPending?: boolean;
}

/** Options of `CommandQueue.lease`. */
export interface QueueLeaseOptions {
  /** The lease ends by itself this long after it was granted, in ms; `Infinity` (default) for never. */
  durationMs?: number;
  /** Gives up waiting for the lease (rejects with the signal's reason); once granted it has no effect. */
  signal?: AbortSignal;
}

/** How a lease ended. */
export type QueueLeaseEnd = 'released' | 'expired' | 'closed' | 'failed';

/**
 * An exclusive lease of the queue for one lane: while it is active, only
 * that lane's jobs start (others wait in their lanes). Ends with `release()`,
 * when its duration passes, or when the queue closes or fails.
 */
export interface QueueLease {
  readonly lane: string;
  /** True until the lease ended. */
  readonly active: boolean;
  /** Resolves with the reason once the lease ended. */
  readonly ended: Promise<QueueLeaseEnd>;
  /** Ends the lease; other lanes' jobs may start again. Idempotent. */
  release(): void;
}

const DEFAULT_LANE = '';

/** The queued jobs of one lane, highest priority first, FIFO within a priority. */
class Lane {
  items: AnyEntry[] = [];
  head = 0;

  constructor(readonly name: string) {}

  add(entry: AnyEntry): void {
    const items = this.items;
    let at = items.length;
    while (at > this.head && (items[at - 1] as AnyEntry).priority < entry.priority) at--;
    if (at === items.length) items.push(entry);
    else items.splice(at, 0, entry);
  }

  /** The first job not yet settled (aborted, failed or closed while queued ones are skipped here). */
  peek(): AnyEntry | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const entry = items[this.head] as AnyEntry;
      if (!entry.settled) return entry;
      this.head++;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }

  take(): AnyEntry {
    const entry = this.items[this.head] as AnyEntry;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }
}

class Lease implements QueueLease {
  active = false;
  readonly ended: Promise<QueueLeaseEnd>;
  timer: Timer | undefined;
  #end!: (how: QueueLeaseEnd) => void;

  constructor(
    readonly lane: string,
    readonly durationMs: number,
    private readonly onEnd: (lease: Lease) => void,
  ) {
    this.ended = new Promise((resolve) => {
      this.#end = resolve;
    });
  }

  release(): void {
    this.finish('released');
  }

  finish(how: QueueLeaseEnd): void {
    if (!this.active) return;
    this.active = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.#end(how);
    this.onEnd(this);
  }
}

interface LeaseRequest {
  readonly lease: Lease;
  readonly grant: (lease: QueueLease) => void;
  readonly refuse: (error: unknown) => void;
  detach: (() => void) | undefined;
  done: boolean;
}

/**
 * The one serialized command queue of a device: one job at a time, highest
 * priority first, FIFO within a priority. Every job (CBW, data, CSW and any
 * automatic REQUEST SENSE) runs alone, so no two commands' transfers ever
 * interleave.
 *
 * Abort and timeout reject the caller promptly but never cut a running job
 * short: the job sees `context.signal`, finishes its own reset recovery, and
 * only then does the next job start.
 *
 * Jobs may name a lane (one per client of a shared device): lanes take turns
 * among jobs of the same priority, and `lease()` gives one lane the queue to
 * itself until it releases the lease or the lease expires.
 *
 * All state changes happen synchronously in this object (no third-party
 * scheduler), so `onIdle()` and `close()` see exactly what runs and waits and
 * cannot miss the moment the queue becomes idle.
 *
 * @example
 * const queue = new CommandQueue();
 * const data = await queue.run(({ signal }) => bot.command({ ...req, signal }), { timeoutMs: 5000, signal: userSignal });
 */
export class CommandQueue {
  /** Lanes with queued jobs, in round-robin order. */
  readonly #lanes = new Map<string, Lane>();
  /** The lane that started the last job (round robin continues after it). */
  #lastLane: string | undefined;
  /** Queued jobs whose caller has not been answered yet. */
  #waiting = 0;
  #running: AnyEntry | undefined;
  #failure: UsbmsError | undefined;
  #closed = false;
  /** The signal of a job that ended without it firing, for the next job to use (see `Entry.controller`). */
  readonly #spare = new SpareController();
  /** The running job's time limit: one timer for back-to-back jobs, not one per job. */
  readonly #clock = new DeadlineClock();
  #idleWaiters: (() => void)[] = [];
  #lease: Lease | undefined;
  #leaseRequests: LeaseRequest[] = [];

  /** Jobs waiting to start. */
  get size(): number {
    return this.#waiting;
  }

  /** True while a job runs (possibly after its caller was already answered). */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** The failure passed to `fail()` (wrapped in DeviceFailedError unless it was one, a DisconnectedError or a ClosedError). */
  get failure(): UsbmsError | undefined {
    return this.#failure;
  }

  /** True once `close()` was called; `run()` then rejects with ClosedError. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The lane holding the lease, if any. */
  get leaseHolder(): string | undefined {
    return this.#lease?.lane;
  }

  /** Queues `job`; resolves or rejects exactly once. */
  run<T>(job: QueueJob<T>, options: QueueRunOptions = {}): Promise<T> {
    const name = options.name ?? 'command';
    if (this.#failure) return Promise.reject(this.#failureFor(name));
    if (this.#closed) return Promise.reject(unavailableError(name, 'closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal)); // dropped before it was queued
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined) {
      try {
        checkTimeout(`${name}: timeoutMs`, timeoutMs);
      } catch (error) {
        return Promise.reject(error);
      }
    }

    return new Promise<T>((resolve, reject) => {
      const entry = new Entry<T>(job, name, options.priority ?? 0, timeoutMs, resolve, reject);
      entry.holding = options.holdUntilReleased === true;
      const laneName = options.lane ?? DEFAULT_LANE;
      if (signal) this.#watchSignal(entry as AnyEntry, signal);
      if (
        this.#running === undefined &&
        this.#waiting === 0 &&
        this.#leaseRequests.length === 0 &&
        (this.#lease === undefined || this.#lease.lane === laneName)
      ) {
        // Nothing runs or waits (and no other lane holds the lease): start at once.
        this.#lastLane = laneName;
        void this.#execute(entry as AnyEntry);
        return;
      }
      let lane = this.#lanes.get(laneName);
      if (lane === undefined) {
        lane = new Lane(laneName);
        this.#lanes.set(laneName, lane);
      }
      lane.add(entry as AnyEntry);
      this.#waiting++;
      // Nothing runs, yet the job could not start at once (a lease of another lane, or lanes to take turns): let the scheduler decide.
      if (this.#running === undefined) this.#startNext();
    });
  }

  #watchSignal(entry: AnyEntry, signal: AbortSignal): void {
    const onAbort = (): void => {
      const error = abortReason(signal);
      if (entry.settled) return;
      if (entry.started) {
        // A running job keeps going to finish its recovery.
        entry.giveUp(error);
      } else {
        entry.reject(error);
        // A queued one is skipped when its lane reaches it.
        this.#droppedWhileQueued();
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    entry.detach = () => signal.removeEventListener('abort', onAbort);
  }

  /** A queued job was answered without running (abort, fail, close): one fewer waiting. */
  #droppedWhileQueued(): void {
    this.#waiting--;
    this.#wakeIfIdle();
  }

  async #execute(entry: AnyEntry): Promise<void> {
    entry.started = true;
    this.#running = entry;
    if (entry.timeoutMs !== undefined) {
      entry.timer = this.#clock.start(entry.timeoutMs, () => {
        entry.giveUp(new TimeoutError(`${entry.name} did not finish within ${entry.timeoutMs} ms; the device is being reset`));
      });
    }
    try {
      const value = await entry.job(new JobContext(entry, this.#spare));
      entry.resolve(value);
    } catch (error) {
      entry.reject(error);
    } finally {
      this.#running = undefined;
      // A signal that never fired can serve the next job: jobs run one at a time, and a
      // transport removes its abort listener once its transfer settles (MscTransport contract).
      if (entry.controller !== undefined) this.#spare.giveBack(entry.controller);
      this.#startNext();
    }
  }

  /** Starts the next job, if any may start; else wakes `onIdle()` callers when nothing runs or waits. */
  #startNext(): void {
    if (this.#running !== undefined) return;
    this.#grantLease();
    const entry = this.#pick();
    if (entry !== undefined) {
      this.#waiting--;
      void this.#execute(entry);
      return;
    }
    this.#wakeIfIdle();
  }

  /**
   * The next job: the lease holder's lane alone while a lease is active; else
   * the highest priority at the head of any lane, lanes taking turns (round
   * robin, starting after the lane served last) among equal priorities.
   */
  #pick(): AnyEntry | undefined {
    if (this.#lease !== undefined) {
      const lane = this.#lanes.get(this.#lease.lane);
      if (lane === undefined) return undefined;
      const entry = lane.peek();
      if (entry === undefined) {
        this.#lanes.delete(lane.name);
        return undefined;
      }
      return lane.take();
    }
    let best: Lane | undefined;
    let bestPriority = Number.NEGATIVE_INFINITY;
    let passedLast = this.#lastLane === undefined;
    let wrapBest: Lane | undefined; // best among lanes at or before the last served one
    let wrapPriority = Number.NEGATIVE_INFINITY;
    for (const lane of this.#lanes.values()) {
      const entry = lane.peek();
      if (entry === undefined) {
        this.#lanes.delete(lane.name);
      } else if (passedLast) {
        if (entry.priority > bestPriority) {
          best = lane;
          bestPriority = entry.priority;
        }
      } else if (entry.priority > wrapPriority) {
        wrapBest = lane;
        wrapPriority = entry.priority;
      }
      if (lane.name === this.#lastLane) passedLast = true;
    }
    // Lanes after the last served one come first in a tie; the rest (wrapping around) after them.
    const lane = wrapBest !== undefined && wrapPriority > bestPriority ? wrapBest : best;
    if (lane === undefined) return undefined;
    this.#lastLane = lane.name;
    return lane.take();
  }

  /**
   * Gives the queue to one lane (e.g. one client of a shared device) until
   * the lease is released, expires (`durationMs`), or the queue closes or
   * fails. Resolves once no other lane's job runs; until then, and while the
   * lease is active, other lanes' jobs wait (they are not rejected). Lease
   * requests are granted in the order they were made.
   */
  lease(lane: string, options: QueueLeaseOptions = {}): Promise<QueueLease> {
    if (this.#failure) return Promise.reject(this.#failureFor(`lease for ${lane}`));
    if (this.#closed) return Promise.reject(unavailableError(`lease for ${lane}`, 'closed'));
    const durationMs = options.durationMs ?? Number.POSITIVE_INFINITY;
    try {
      checkTimeout('lease durationMs', durationMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<QueueLease>((grant, refuse) => {
      const request: LeaseRequest = { lease: new Lease(lane, durationMs, (ended) => this.#leaseEnded(ended)), grant, refuse, detach: undefined, done: false };
      if (signal) {
        const onAbort = (): void => {
          if (request.done) return;
          request.done = true;
          this.#leaseRequests = this.#leaseRequests.filter((r) => r !== request);
          refuse(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        request.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#leaseRequests.push(request);
      if (this.#running === undefined) this.#startNext();
    });
  }

  /** Grants the first lease request when no lease is active and no job runs. */
  #grantLease(): void {
    if (this.#lease !== undefined || this.#running !== undefined) return;
    const request = this.#leaseRequests.shift();
    if (request === undefined) return;
    request.done = true;
    request.detach?.();
    const lease = request.lease;
    lease.active = true;
    this.#lease = lease;
    lease.timer = startTimer(lease.durationMs, () => lease.finish('expired'));
    request.grant(lease);
  }

  #leaseEnded(lease: Lease): void {
    if (this.#lease !== lease) return;
    this.#lease = undefined;
    // Jobs of other lanes (or the next lease) may start now.
    this.#startNext();
  }

  #endLeases(how: QueueLeaseEnd, error: UsbmsError): void {
    for (const request of this.#leaseRequests.splice(0)) {
      request.done = true;
      request.detach?.();
      request.refuse(error);
    }
    this.#lease?.finish(how);
  }

  /**
   * Marks the device failed: the running job's caller and every queued job
   * reject now (DisconnectedError for a disconnect, else DeviceFailedError
   * naming the cause), the running job's signal fires, and later `run()`
   * calls reject the same way. Leases end. The first failure wins.
   */
  fail(error: unknown): void {
    if (this.#failure) return;
    const failure =
      error instanceof DeviceFailedError || error instanceof DisconnectedError || error instanceof ClosedError
        ? error
        : new DeviceFailedError(`The device failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    this.#failure = failure;
    const running = this.#running;
    if (running !== undefined && !running.settled) {
      // The running job's caller gets the failure itself (often the job's own error, e.g. the
      // DeviceFailedError its recovery produced).
      running.reject(failure);
      running.abort(failure);
    }
    // Queued callers get an error naming their command.
    this.#rejectQueued((entry) => this.#failureFor(entry.name));
    this.#endLeases('failed', failure);
  }

  /**
   * Refuses new jobs, lets queued ones finish (or rejects them with
   * ClosedError when `rejectPending`), ends leases, and resolves once the
   * running job, including its recovery, has settled.
   */
  async close(options: QueueCloseOptions = {}): Promise<void> {
    this.#closed = true;
    if (options.rejectPending) this.#rejectQueued((entry) => unavailableError(entry.name, 'closed'));
    this.#endLeases('closed', new ClosedError('The lease was not granted: the device was closed'));
    await this.onIdle();
  }

  #rejectQueued(errorFor: (entry: AnyEntry) => unknown): void {
    const lanes = [...this.#lanes.values()];
    this.#lanes.clear();
    for (const lane of lanes) {
      for (let i = lane.head; i < lane.items.length; i++) {
        const entry = lane.items[i] as AnyEntry;
        if (entry.settled) continue;
        entry.reject(errorFor(entry));
        this.#waiting--;
      }
    }
    this.#wakeIfIdle();
  }

  /**
   * Resolves when no job is queued or running. Every change that can make
   * the queue idle (a job ending, a queued job dropped) checks for waiters
   * synchronously, so a waiter can never miss it.
   */
  onIdle(): Promise<void> {
    if (this.#running === undefined && this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIfIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#running !== undefined || this.#waiting > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #failureFor(name: string): UsbmsError {
    const failure = this.#failure;
    const state = failure instanceof DisconnectedError ? 'disconnected' : failure instanceof ClosedError ? 'closed' : 'failed';
    return unavailableError(name, state, failure);
  }
}
