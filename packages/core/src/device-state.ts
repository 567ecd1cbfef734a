/**
 * The one owner of "can this device take commands?": open, failed (reset recovery could not bring it
 * back), disconnected, or closed. The engine and the transport report what happened; this state machine
 * decides what it means, tells the queue to reject, and words the one fail-fast error every later call gets.
 */

import type { MscDevice } from './device.js';
import { ClosedError, DeviceFailedError, DisconnectedError, type UsbmsError } from './errors.js';
import { Listeners } from './listeners.js';

/**
 * Lifecycle of an {@link MscDevice}, read from {@link MscDevice.state}:
 * - `open`: commands are accepted.
 * - `failed`: reset recovery (BOT 1.0 §5.3.4) did not bring the device back
 *   (DeviceFailedError); queued and new commands fail; close it and open it again.
 * - `disconnected`: the transport reported the device unplugged; commands fail
 *   with DisconnectedError.
 * - `closed`: {@link MscDevice.close} was called; commands fail with ClosedError.
 */
export type DeviceState = 'open' | 'failed' | 'disconnected' | 'closed';

/**
 * The fail-fast error for `operation` on a device in `state` (not `open`), with `cause` chained: the
 * one wording of "this device cannot take commands", used by the device and its queue alike.
 */
export function unavailableError(operation: string, state: Exclude<DeviceState, 'open'>, cause?: UsbmsError): UsbmsError {
  const options = cause === undefined ? undefined : { cause };
  switch (state) {
    case 'closed':
      return new ClosedError(`${operation} refused: the device is closed; open it again`, options);
    case 'disconnected':
      return new DisconnectedError(`${operation} failed: the USB device was disconnected; reconnect it and open it again`, options);
    case 'failed':
      return new DeviceFailedError(`${operation} was not run: the device failed (${cause?.message ?? 'unknown cause'}); close and reopen it`, options);
  }
}

/**
 * The state machine. Transitions (each reported once; a report that does not apply is ignored):
 *
 * - open -> failed: the engine reports a DeviceFailedError (reset recovery failed, BOT 1.0 §5.3.4).
 * - open | failed -> disconnected: the platform's disconnect event, or a DisconnectedError from a transfer.
 * - any -> closed: `close()` finished. Closing does not wait for the state: a failed device is closed the same way.
 */
export class DeviceLifecycle {
  #state: DeviceState = 'open';
  #cause: UsbmsError | undefined;
  readonly #changes = new Listeners<[DeviceState, UsbmsError | undefined]>();

  /** The current state. */
  get state(): DeviceState {
    return this.#state;
  }

  /** What made the device `failed` or `disconnected` (undefined while open, and for a plain close). */
  get cause(): UsbmsError | undefined {
    return this.#cause;
  }

  /** Subscribes to transitions: called with the new state and its cause, synchronously. */
  onChange(listener: (state: DeviceState, cause: UsbmsError | undefined) => void): () => void {
    return this.#changes.add(listener);
  }

  /**
   * What the engine or the transport reports about an error: DeviceFailedError fails the device,
   * DisconnectedError disconnects it; anything else (a stall, a timeout recovered by reset) changes nothing.
   */
  report(error: unknown): void {
    if (error instanceof DeviceFailedError) this.fail(error);
    else if (error instanceof DisconnectedError) this.disconnect(error);
  }

  /** open -> failed. */
  fail(error: DeviceFailedError): void {
    if (this.#state !== 'open') return;
    this.#enter('failed', error);
  }

  /** open | failed -> disconnected (the platform's event carries no error: one is made). */
  disconnect(error: DisconnectedError = new DisconnectedError('The USB device was disconnected; reconnect it and open it again')): void {
    if (this.#state === 'closed' || this.#state === 'disconnected') return;
    this.#enter('disconnected', error);
  }

  /** any -> closed. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#changes.emit('closed', this.#cause);
  }

  /** The fail-fast error for `operation`, or undefined while the device is open. */
  refusal(operation: string): UsbmsError | undefined {
    return this.#state === 'open' ? undefined : unavailableError(operation, this.#state, this.#cause);
  }

  #enter(state: 'failed' | 'disconnected', cause: UsbmsError): void {
    this.#state = state;
    this.#cause = cause;
    this.#changes.emit(state, cause);
  }
}
