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

/**
 * Forwards an abort of a caller's signal to a controller of the engine's, and keeps that link from
 * one command to the next while both are the same and neither fired (the command queue reuses a
 * job signal that never fired): adding and removing an abort listener per command cost more than
 * the rest of the command's bookkeeping.
 */
export class SignalLink {
  #signal: AbortSignal | undefined;
  #cancel: AbortController | undefined;
  #unlink: (() => void) | undefined;

  /** `signal` aborting aborts `cancel` (with its reason); a link to another pair is dropped first. */
  forward(signal: AbortSignal | undefined, cancel: AbortController): void {
    if (this.#unlink !== undefined && this.#signal === signal && this.#cancel === cancel) return;
    this.drop();
    if (signal === undefined) return;
    const forward = (): void => cancel.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    this.#signal = signal;
    this.#cancel = cancel;
    this.#unlink = () => signal.removeEventListener('abort', forward);
  }

  /** Drops the link once its controller fired: it cannot serve another command. */
  dropIfFired(): void {
    if (this.#cancel?.signal.aborted === true) this.drop();
  }

  drop(): void {
    this.#unlink?.();
    this.#signal = undefined;
    this.#cancel = undefined;
    this.#unlink = undefined;
  }
}
