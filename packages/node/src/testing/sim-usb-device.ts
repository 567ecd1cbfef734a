import { type BulkInResult, type BulkOutResult, DisconnectedError, type MscTransport, TimeoutError } from '@usbms/core';
import type { SimulatedDevice } from '@usbms/core/sim';
import type { UsbControlSetup } from '../usb-types.js';
import { type FakeDeviceOptions, FakeUsbDevice } from './fake-usb.js';

/** Converts a simulator failure into the Error node-usb 3.1 would throw. */
function asNative(op: string, error: unknown, control: boolean): Error {
  if (error instanceof TimeoutError) return new Error(`${op} error: ${control ? 'transfer was cancelled' : 'Cancelled'}`);
  if (error instanceof DisconnectedError) return new Error(`${op} error: ${control ? 'device disconnected' : 'Disconnected'}`);
  return error instanceof Error ? error : new Error(String(error));
}

/** What serves the fake device's pipes: the simulator, or any BOT device model with an unplug. */
export interface DeviceModel {
  readonly transport: MscTransport;
  /** The device is unplugged: pending and later transfers fail as disconnected. */
  disconnect(): void;
}

/**
 * A fake node-usb device whose bulk pipes and class requests are served by
 * the core's `SimulatedDevice` (a BOT device model over RAM SCSI LUNs), with
 * results translated into node-usb 3.1's shapes: a stall becomes the
 * exception "transferIn error: Stall", a timeout "Cancelled", an unplug
 * "Disconnected". Lets the adapter be tested end to end through `MscDevice`.
 */
export class SimUsbDevice<Model extends DeviceModel = SimulatedDevice> extends FakeUsbDevice {
  readonly sim: Model;
  readonly #pipe: MscTransport;

  constructor(sim: Model, options: FakeDeviceOptions = {}) {
    super(options);
    this.sim = sim;
    this.#pipe = sim.transport;
  }

  override async nativeTransferIn(endpoint: number, timeoutMs: number, length: number): Promise<Uint8Array | null> {
    this.calls.push(`transferIn(${endpoint},${length})`);
    if (this.claimed.size === 0) throw new Error('transferIn error: endpoint not found');
    let r: BulkInResult;
    try {
      r = await this.#pipe.bulkIn(length, { timeoutMs });
    } catch (error) {
      throw this.#native('transferIn', error, false);
    }
    if (r.status === 'stall') throw new Error('transferIn error: Stall');
    if (r.status === 'babble') throw new Error('transferIn error: Fault');
    return r.data.slice();
  }

  override async nativeTransferOut(endpoint: number, timeoutMs: number, data: Uint8Array): Promise<number> {
    this.calls.push(`transferOut(${endpoint},${data.length})`);
    if (this.claimed.size === 0) throw new Error('transferOut error: endpoint not found');
    let r: BulkOutResult;
    try {
      r = await this.#pipe.bulkOut(data, { timeoutMs });
    } catch (error) {
      throw this.#native('transferOut', error, false);
    }
    if (r.status === 'stall') throw new Error('transferOut error: Stall');
    return r.bytesWritten;
  }

  override async clearHalt(direction: 'in' | 'out', endpoint: number): Promise<void> {
    this.calls.push(`clearHalt(${direction},${endpoint})`);
    try {
      await this.#pipe.clearHalt(direction, { timeoutMs: 1000 });
    } catch (error) {
      throw this.#native('clearHalt', error, true);
    }
  }

  override async nativeControlTransferIn(setup: UsbControlSetup, timeoutMs: number, length: number): Promise<Uint8Array | null> {
    this.setups.push(setup);
    if (this.claimed.size === 0) throw new Error('controlTransferIn error: invalid state');
    try {
      const r = await this.#pipe.classRequest({ request: 'get-max-lun' }, { timeoutMs });
      if (r.status === 'stall') throw new Error('controlTransferIn error: endpoint stalled');
      return r.data.slice(0, length);
    } catch (error) {
      throw this.#native('controlTransferIn', error, true);
    }
  }

  override async nativeControlTransferOut(setup: UsbControlSetup, timeoutMs: number): Promise<number> {
    this.setups.push(setup);
    if (this.claimed.size === 0) throw new Error('controlTransferOut error: invalid state');
    try {
      const r = await this.#pipe.classRequest({ request: 'bulk-only-reset' }, { timeoutMs });
      if (r.status === 'stall') throw new Error('controlTransferOut error: endpoint stalled');
      return 0;
    } catch (error) {
      throw this.#native('controlTransferOut', error, true);
    }
  }

  /**
   * The native error for a failure of the device model. nusb reports Disconnected only for a device
   * that is gone: so the fake is gone too.
   */
  #native(op: string, error: unknown, control: boolean): Error {
    if (error instanceof DisconnectedError && !this.gone) this.unplug();
    return asNative(op, error, control);
  }

  /** Unplug: the simulator fails pending transfers (as nusb does), then the caller fires the hotplug event. */
  override unplug(): void {
    super.unplug();
    this.sim.disconnect();
  }
}
