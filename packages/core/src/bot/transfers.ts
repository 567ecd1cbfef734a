// The options of one transfer of a command (what is left of its time limit, the caller's signal) and waiting for a cancelled one (BOT 1.0 §5.3.4: recovery starts on an idle pipe).
import { MAX_TIMER_MS } from '../timer.js';
import type { TransferOptions } from '../transport.js';

/**
 * A transfer's own time limit: what is left of the command's, at most
 * MAX_TIMER_MS (2^31-1 ms, about 24.8 days): platforms take no longer timer
 * (Node fires a longer one at once), so a single transfer pending longer than
 * that ends with TimeoutError even under a longer or infinite command limit.
 */
export function transferTimeout(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}

export function transferOptions(timeoutMs: number, signal: AbortSignal | undefined): TransferOptions {
  return signal === undefined ? { timeoutMs } : { timeoutMs, signal };
}

/** Resolves when `promise` has settled, whichever way. */
export function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}
