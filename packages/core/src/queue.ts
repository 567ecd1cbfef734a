import PQueue from 'p-queue';
import { abortReason } from './bot/abort.js';
import { ClosedError, DeviceFailedError, DisconnectedError, InvalidArgumentError, TimeoutError, type UsbmsError } from './errors.js';

/** What a job receives. `signal` fires when the caller aborts, the job times out, or the queue fails. */
export interface QueueJobContext {
  readonly signal: AbortSignal;
}

/** One job of the command queue; `context.signal` fires when its caller gave up (abort or timeout), so it can cut its work short. */
export type QueueJob<T> = (context: QueueJobContext) => Promise<T>;

/** Options of `CommandQueue.run`. */
export interface QueueRunOptions {
  /** Higher runs first; FIFO among equal priorities. Default 0. */
  priority?: number;
  /** Aborts this job: dropped if still queued; if running, the caller's promise rejects at once and `context.signal` fires. */
  signal?: AbortSignal;
  /**
   * Time limit from the moment the job starts (queue wait does not count).
   * When it passes, the caller's promise rejects with TimeoutError and
   * `context.signal` fires with that error as its reason.
   */
  timeoutMs?: number;
  /** Names the job in error messages, e.g. "READ(10)". */
  name?: string;
}

/** Options of `CommandQueue.close`. */
export interface QueueCloseOptions {
  /** Reject queued (not yet started) jobs with ClosedError instead of running them. Default false. */
  rejectPending?: boolean;
}

/** What the queue needs to know about an unanswered job, whatever its result type. */
interface Unsettled {
  readonly name: string;
  readonly started: boolean;
  reject(error: unknown): void;
  /** Fires the job's `context.signal` (created on demand). */
  abort(error: UsbmsError): void;
}

/** One caller's job and the one promise it settles. */
class Entry<T> implements Unsettled {
  settled = false;
  started = false;
  /** Started without going through p-queue (the queue was idle). */
  direct = false;
  /**
   * Created on first use: an AbortSignal costs more to build in Node than the
   * rest of a queue job together, and most jobs never need a fresh one.
   */
  controller: AbortController | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  detach: (() => void) | undefined;

  constructor(
    readonly job: QueueJob<T>,
    readonly name: string,
    readonly timeoutMs: number | undefined,
    private readonly resolveFn: (value: T) => void,
    private readonly rejectFn: (error: unknown) => void,
  ) {}

  abort(error: UsbmsError): void {
    this.controller ??= new AbortController();
    this.controller.abort(error);
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.#cleanup();
    this.resolveFn(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#cleanup();
    this.rejectFn(error);
  }

  #cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.detach?.();
    this.detach = undefined;
  }
}

/**
 * The one serialized command queue of a device (p-queue, concurrency 1):
 * every job (CBW, data, CSW and any automatic REQUEST SENSE) runs alone, so
 * no two commands' transfers ever interleave.
 *
 * Abort and timeout reject the caller promptly but never cut a running job
 * short: the job sees `context.signal`, finishes its own reset recovery, and
 * only then does the next job start. (p-queue's own `signal`/`timeout`
 * options would start the next job while transfers are still pending, so
 * they are deliberately not used.)
 *
 * @example
 * const queue = new CommandQueue();
 * const data = await queue.run(({ signal }) => bot.command({ ...req, signal }), { timeoutMs: 5000, signal: userSignal });
 */
export class CommandQueue {
  readonly #queue = new PQueue({ concurrency: 1 });
  /** Entries whose caller has not been answered yet (queued or running). */
  readonly #unsettled = new Set<Unsettled>();
  #running: Unsettled | undefined;
  #failure: UsbmsError | undefined;
  #closed = false;
  #spareController: AbortController | undefined;
  #idleWaiters: (() => void)[] = [];

  /** Jobs waiting to start (including dropped ones not yet skipped). */
  get size(): number {
    return this.#queue.size;
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

  /** Queues `job`; resolves or rejects exactly once. */
  run<T>(job: QueueJob<T>, options: QueueRunOptions = {}): Promise<T> {
    const name = options.name ?? 'command';
    if (this.#failure) return Promise.reject(this.#failureFor(name));
    if (this.#closed) return Promise.reject(new ClosedError(`${name} refused: the device is closed; open it again`));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal)); // dropped before it was queued
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      return Promise.reject(new InvalidArgumentError(`${name}: timeoutMs must be positive, got ${options.timeoutMs}`));
    }

    return new Promise<T>((resolve, reject) => {
      const entry = new Entry<T>(job, name, options.timeoutMs, resolve, reject);
      this.#unsettled.add(entry);
      if (signal) {
        const onAbort = (): void => {
          const error = abortReason(signal);
          this.#unsettled.delete(entry);
          entry.reject(error);
          // A running job keeps going to finish its recovery; a queued one is skipped when reached.
          if (entry.started) entry.abort(error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.#running === undefined && this.#queue.size === 0 && this.#queue.pending === 0) {
        // Uncontended: nothing runs or waits, so this job may start at once without
        // the hop through p-queue (a few µs per command). p-queue is paused while it
        // runs, so callers arriving meanwhile wait there in priority/FIFO order.
        entry.direct = true;
        this.#queue.pause();
        void this.#execute(entry);
      } else {
        void this.#queue.add(() => this.#execute(entry), { priority: options.priority ?? 0 });
      }
    });
  }

  async #execute<T>(entry: Entry<T>): Promise<void> {
    if (entry.settled) {
      // Aborted, failed or closed while queued: dropped.
      this.#wakeIdleWaiters(entry);
      return;
    }
    entry.started = true;
    this.#running = entry;
    if (entry.timeoutMs !== undefined) {
      entry.timer = setTimeout(() => {
        const error = new TimeoutError(`${entry.name} did not finish within ${entry.timeoutMs} ms; the device is being reset`);
        this.#unsettled.delete(entry);
        entry.reject(error);
        entry.abort(error);
      }, entry.timeoutMs);
    }
    try {
      const queue = this;
      const context: QueueJobContext = {
        get signal(): AbortSignal {
          entry.controller ??= queue.#spareController ?? new AbortController();
          if (entry.controller === queue.#spareController) queue.#spareController = undefined;
          return entry.controller.signal;
        },
      };
      const value = await entry.job(context);
      entry.resolve(value);
    } catch (error) {
      entry.reject(error);
    } finally {
      this.#unsettled.delete(entry);
      this.#running = undefined;
      if (entry.direct) this.#queue.start();
      this.#wakeIdleWaiters(entry);
      // A signal that never fired can serve the next job: jobs run one at a time, and a
      // transport removes its abort listener once its transfer settles (MscTransport contract).
      if (entry.controller !== undefined && !entry.controller.signal.aborted) this.#spareController = entry.controller;
    }
  }

  /**
   * Marks the device failed: the running job's caller and every queued job
   * reject now (DisconnectedError for a disconnect, else DeviceFailedError
   * naming the cause), the running job's signal fires, and later `run()`
   * calls reject the same way. The first failure wins.
   */
  fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure =
      error instanceof DeviceFailedError || error instanceof DisconnectedError || error instanceof ClosedError
        ? error
        : new DeviceFailedError(`The device failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    for (const entry of [...this.#unsettled]) {
      // The running job's caller gets the failure itself (often the job's own error, e.g. the
      // DeviceFailedError its recovery produced); queued callers get an error naming their command.
      const rejection = entry.started ? this.#failure : this.#failureFor(entry.name);
      this.#unsettled.delete(entry);
      entry.reject(rejection);
      if (entry.started) entry.abort(rejection);
    }
  }

  /**
   * Refuses new jobs, lets queued ones finish (or rejects them with
   * ClosedError when `rejectPending`), and resolves once the running job,
   * including its recovery, has settled.
   */
  async close(options: QueueCloseOptions = {}): Promise<void> {
    this.#closed = true;
    if (options.rejectPending) {
      for (const entry of [...this.#unsettled]) {
        if (entry.started) continue;
        this.#unsettled.delete(entry);
        entry.reject(new ClosedError(`${entry.name} was not run: the device was closed`));
      }
    }
    await this.onIdle();
  }

  /** Resolves when no job is queued or running. */
  onIdle(): Promise<void> {
    if (this.#running === undefined && this.#queue.size === 0 && this.#queue.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Called as a job ends: wakes `onIdle()` callers when nothing else runs or waits. */
  #wakeIdleWaiters(ending: { readonly direct: boolean }): void {
    if (this.#idleWaiters.length === 0 || this.#running !== undefined) return;
    // A job run by p-queue still counts as pending until it returns.
    if (this.#queue.size > 0 || this.#queue.pending > (ending.direct ? 0 : 1)) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #failureFor(name: string): UsbmsError {
    const failure = this.#failure;
    if (failure instanceof DisconnectedError) {
      return new DisconnectedError(`${name} failed: the USB device was disconnected; reconnect it and open it again`, { cause: failure });
    }
    if (failure instanceof ClosedError) return new ClosedError(`${name} was not run: ${failure.message}`, { cause: failure });
    return new DeviceFailedError(`${name} was not run: the device failed (${failure?.message ?? 'unknown cause'}); close and reopen it`, { cause: failure });
  }
}
