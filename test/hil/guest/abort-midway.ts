// Aborting work part-way through, as the HIL scenario's abort step and bench/devices/abort-trace.ts do.

/** One attempt of {@link abortMidway}: how `run` ended, and when (performance.now()). */
export interface AbortAttempt {
  /** What `run` rejected with (undefined: it ended before the abort). */
  error: unknown;
  started: number;
  ended: number;
  /** When the timer called abort(); undefined when `run` ended first. */
  abortedAt?: number;
}

/**
 * Runs `run` with a signal a timer aborts halfway through `wholeMs` (the time the same work took
 * whole). If the work ends before the abort (the machine got faster than when measured: two shared
 * cores), it runs again with the abort at a quarter, an eighth and a sixteenth; the last attempt is
 * returned either way. `onAbort` runs right after abort() (e.g. to start a trace), `beforeAbort` right
 * before it (e.g. to start a timeline that must include what abort() itself does).
 */
export async function abortMidway(
  wholeMs: number,
  run: (signal: AbortSignal) => Promise<unknown>,
  onAbort?: () => void,
  beforeAbort?: () => void,
): Promise<AbortAttempt> {
  for (let fraction = 2; ; fraction *= 2) {
    const controller = new AbortController();
    let abortedAt: number | undefined;
    const timer = setTimeout(() => {
      beforeAbort?.();
      abortedAt = performance.now();
      controller.abort();
      onAbort?.();
    }, wholeMs / fraction);
    const started = performance.now();
    let error: unknown;
    try {
      await run(controller.signal);
    } catch (e) {
      error = e;
    }
    const ended = performance.now();
    clearTimeout(timer);
    if (error === undefined && fraction < 16) continue;
    return { error, started, ended, ...(abortedAt === undefined ? {} : { abortedAt }) };
  }
}
