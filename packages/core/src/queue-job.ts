// One job of the command queue (queue.ts): the caller's promise it settles, how a caller who gives up is
// told (at once, or once the job released the caller's memory), and the context the job runs with.
import type { SpareController } from './bot/abort.js';
import type { UsbmsError } from './errors.js';
import type { QueueJob, QueueJobContext } from './queue.js';
import type { Timer } from './timer.js';

/** One caller's job and the one promise it settles. */
export class Entry<T> {
  settled = false;
  started = false;
  /**
   * Created on first use: an AbortSignal costs more to build in Node than the
   * rest of a queue job together, and most jobs never need a fresh one.
   */
  controller: AbortController | undefined;
  timer: Timer | undefined;
  detach: (() => void) | undefined;
  /** QueueRunOptions.holdUntilReleased, until the job released its caller's memory. */
  holding = false;
  /** Why the caller gave up while the job still held its memory: told on release or settle. */
  gaveUp: UsbmsError | undefined;

  constructor(
    readonly job: QueueJob<T>,
    readonly name: string,
    readonly priority: number,
    readonly timeoutMs: number | undefined,
    private readonly resolveFn: (value: T) => void,
    private readonly rejectFn: (error: unknown) => void,
  ) {}

  abort(error: UsbmsError): void {
    this.controller ??= new AbortController();
    this.controller.abort(error);
  }

  /** The caller gave up on the running job (abort, timeout): told at once, or once the job releases its memory. */
  giveUp(error: UsbmsError): void {
    if (this.settled || this.gaveUp !== undefined) return;
    if (this.holding) this.gaveUp = error;
    else this.reject(error);
    this.abort(error);
  }

  release(): void {
    this.holding = false;
    if (this.gaveUp !== undefined) this.reject(this.gaveUp);
  }

  resolve(value: T): void {
    if (this.gaveUp !== undefined) {
      this.reject(this.gaveUp);
      return;
    }
    if (this.settled) return;
    this.settled = true;
    this.#cleanup();
    this.resolveFn(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    if (this.gaveUp !== undefined) error = this.gaveUp; // what the caller was promised when it gave up
    this.settled = true;
    this.#cleanup();
    this.rejectFn(error);
  }

  #cleanup(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.detach?.();
    this.detach = undefined;
  }
}

export type AnyEntry = Entry<unknown>;

/**
 * What a running job sees: a class, so the getter lives on its prototype. An object literal with a
 * getter is built through the runtime on every job, which made it the queue's largest cost per command.
 */
export class JobContext implements QueueJobContext {
  // Private: the job (a caller's code) sees only `signal` and `release`, as before.
  readonly #entry: AnyEntry;
  readonly #spare: SpareController;

  constructor(entry: AnyEntry, spare: SpareController) {
    this.#entry = entry;
    this.#spare = spare;
  }

  get signal(): AbortSignal {
    const entry = this.#entry;
    entry.controller ??= this.#spare.take();
    return entry.controller.signal;
  }

  /** An own property: callers take it off the context (`({ signal, release }) => ...`). */
  readonly release = (): void => this.#entry.release();
}
