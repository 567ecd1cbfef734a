import { AbortError, UsbmsError } from '../errors.js';

/**
 * The error a fired AbortSignal stands for: its reason when that is already
 * one of ours (e.g. the queue's TimeoutError), else an AbortError with the
 * reason chained.
 */
export function abortReason(signal: AbortSignal): UsbmsError {
  const reason: unknown = signal.reason;
  if (reason instanceof UsbmsError) return reason;
  return new AbortError('The command was aborted', reason === undefined ? undefined : { cause: reason });
}

/**
 * An AbortController kept for the next user while it never fired: making one and its signal (Node
 * builds the signal lazily, an EventTarget) costs about a microsecond per command. It is given back
 * once nothing listens on it (transports drop their listeners once a transfer settles).
 */
export class SpareController {
  #controller: AbortController | undefined;

  /** The kept controller, or a new one. */
  take(): AbortController {
    const controller = this.#controller;
    this.#controller = undefined;
    return controller === undefined || controller.signal.aborted ? new AbortController() : controller;
  }

  /** Keeps `controller` for the next `take()`, unless it fired. */
  giveBack(controller: AbortController): void {
    if (!controller.signal.aborted) this.#controller = controller;
  }
}
