import { InvalidArgumentError } from './errors.js';

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
