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
