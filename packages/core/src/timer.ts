import { InvalidArgumentError } from './errors.js';
import { now } from './trace.js';

/**
 * The longest delay `setTimeout` honours: 2^31-1 ms (about 24.8 days). Node
 * fires a longer delay at once (TimeoutOverflowWarning) and browsers wrap it,
 * so longer time limits are built from chained timers (see {@link startTimer}).
 */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * Checks a time limit given by a caller: a positive number of milliseconds,
 * or `Infinity` for no limit. NaN, 0, negative numbers and non-numbers are
 * refused with InvalidArgumentError before anything is sent.
 */
export function checkTimeout(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds (or Infinity for none), got ${String(value)}`);
  }
}

/** Node's `setImmediate` (the event loop's next turn, no timer); browsers have none. */
const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;

/**
 * Resolves in a later task of the event loop, after every microtask queued
 * before it (promise reactions such as a caller's rejection handler) has run:
 * `setImmediate` where there is one (a timer of 0 ms waits at least 1 ms in
 * Node, several in an emulated guest), else a 0 ms timer.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (immediate !== undefined) immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/** A running timer from {@link startTimer}. */
export interface Timer {
  /** Stops the timer; `fire` will not be called. Idempotent. */
  cancel(): void;
}

const NEVER: Timer = { cancel() {} };

/**
 * Calls `fire` once after `ms` milliseconds, for any positive `ms`: delays
 * beyond {@link MAX_TIMER_MS} run as a chain of timers, and `Infinity` never
 * fires (no timer is created at all).
 */
export function startTimer(ms: number, fire: () => void): Timer {
  if (ms === Number.POSITIVE_INFINITY) return NEVER;
  if (ms <= MAX_TIMER_MS) {
    const handle = setTimeout(fire, ms);
    return { cancel: () => clearTimeout(handle) };
  }
  let remaining = ms;
  let handle: ReturnType<typeof setTimeout>;
  const step = (): void => {
    if (remaining <= MAX_TIMER_MS) {
      handle = setTimeout(fire, remaining);
      return;
    }
    remaining -= MAX_TIMER_MS;
    handle = setTimeout(step, MAX_TIMER_MS);
  };
  step();
  return { cancel: () => clearTimeout(handle) };
}

/** Node's timers have `ref`/`unref` (whether the timer keeps the process alive); browsers' do not. */
type Refable = { ref?: () => void; unref?: () => void };

/**
 * The time limit of one job at a time (the command queue's running job), for any number of jobs
 * back to back, with one platform timer per time limit rather than one per job: a job whose
 * deadline is later than the pending timer's keeps that timer, which, when it fires, starts a
 * timer for what is left of the job then running. Between jobs the pending timer does not keep
 * a Node process alive. Same contract as {@link startTimer} for each job: `fire` runs once when
 * the job's time is up, never after `cancel()`.
 */
export class DeadlineClock {
  #handle: ReturnType<typeof setTimeout> | undefined;
  /** now() when the pending timer fires, and the job it was started for. */
  #fireAt = 0;
  #armedFor = 0;
  #job = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #fire: (() => void) | undefined;

  /** Starts the time limit of the next job (the previous one's `cancel` no longer applies). */
  start(ms: number, fire: () => void): Timer {
    if (ms > MAX_TIMER_MS) return startTimer(ms, fire);
    const t = now();
    const job = ++this.#job;
    this.#deadline = t + ms;
    this.#fire = fire;
    if (this.#handle === undefined || this.#fireAt > this.#deadline) this.#arm(ms);
    else (this.#handle as Refable).ref?.();
    return {
      cancel: () => {
        if (this.#job !== job) return;
        this.#deadline = Number.POSITIVE_INFINITY;
        this.#fire = undefined;
        if (this.#handle !== undefined) (this.#handle as Refable).unref?.();
      },
    };
  }

  #arm(ms: number): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#fireAt = now() + ms;
    this.#armedFor = this.#job;
    this.#handle = setTimeout(this.#tick, ms);
  }

  readonly #tick = (): void => {
    this.#handle = undefined;
    if (this.#fire === undefined) return;
    // Started for an earlier job: the running one has what is left of its own limit.
    const left = Math.ceil(this.#deadline - now());
    if (this.#armedFor !== this.#job && left > 0) {
      this.#arm(left);
      return;
    }
    const fire = this.#fire;
    this.#deadline = Number.POSITIVE_INFINITY;
    this.#fire = undefined;
    fire();
  };
}
