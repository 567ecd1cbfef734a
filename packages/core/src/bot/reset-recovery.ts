// The reset-recovery sequence (BOT 1.0 §5.3.4): Bulk-Only Mass Storage Reset, Clear Feature HALT on both bulk pipes, else one port reset; bounded, not interruptible. When to run it is decided by the engine.
import { DeviceFailedError, DisconnectedError, TransportError } from '../errors.js';
import type { RecoveryStep } from '../trace.js';
import type { MscTransport, TransferOptions } from '../transport.js';

/** What one run of reset recovery needs besides the transport. */
export interface ResetRecoveryContext {
  /** Time limit of each request. */
  timeoutMs: number;
  /** Why recovery runs (the error of the command, or "requested by the caller"); part of the failure message. */
  reason: string;
  /** Records one step in the trace. */
  trace: (step: RecoveryStep, ok: boolean, detail: string) => void;
  /** Told the DeviceFailedError or DisconnectedError before it is thrown. */
  onFailure: ((error: DeviceFailedError | DisconnectedError) => void) | undefined;
}

/**
 * Reset recovery, bounded: one class reset + two clear halts, else one port
 * reset (when the transport offers one). Throws DeviceFailedError when it
 * failed, DisconnectedError when the device is gone (both told to `onFailure`).
 */
export async function resetRecovery(transport: MscTransport, ctx: ResetRecoveryContext): Promise<void> {
  const { reason, trace, onFailure } = ctx;
  const options: TransferOptions = { timeoutMs: ctx.timeoutMs }; // no signal: recovery must finish
  let step: RecoveryStep = 'bulk-only-reset';
  try {
    const reset = await transport.classRequest({ request: 'bulk-only-reset' }, options);
    if (reset.status !== 'ok') throw new TransportError('The device stalled the Bulk-Only Mass Storage Reset request');
    trace(step, true, reason);
    step = 'clear-halt-in';
    await transport.clearHalt('in', options);
    trace(step, true, 'after reset');
    step = 'clear-halt-out';
    await transport.clearHalt('out', options);
    trace(step, true, 'after reset');
    return;
  } catch (classError) {
    const detail = classError instanceof Error ? classError.message : String(classError);
    trace(step, false, detail);
    if (classError instanceof DisconnectedError) {
      onFailure?.(classError);
      throw classError;
    }
    if (transport.portReset === undefined) {
      throw markFailed(ctx, `Reset recovery failed at ${step} (${detail}) after: ${reason}. Close and reopen the device, or unplug it`, classError);
    }
  }
  try {
    await transport.portReset(options);
    trace('port-reset', true, 'class reset failed');
  } catch (portError) {
    const detail = portError instanceof Error ? portError.message : String(portError);
    trace('port-reset', false, detail);
    if (portError instanceof DisconnectedError) {
      onFailure?.(portError);
      throw portError;
    }
    throw markFailed(
      ctx,
      `Reset recovery failed: the class reset and then the port reset failed (${detail}) after: ${reason}. Unplug and replug the device`,
      portError,
    );
  }
}

function markFailed(ctx: ResetRecoveryContext, message: string, cause: unknown): DeviceFailedError {
  const error = new DeviceFailedError(message, { cause });
  ctx.trace('device-failed', false, message);
  ctx.onFailure?.(error);
  return error;
}
