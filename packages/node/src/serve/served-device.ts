import type { MscDevice, RemoteDeviceDescriptor, TraceEvent, TransportInfo } from '@usbms/core';
import { FairScheduler } from './scheduler.js';

/** TransportInfo fields a client may see (no bus paths or other host details). */
const INFO_FIELDS = [
  'maxPacketSizeIn',
  'maxPacketSizeOut',
  'speed',
  'vendorId',
  'productId',
  'serialNumber',
  'manufacturer',
  'product',
  'interfaceNumber',
  'interfaceSubclass',
  'interfaceProtocol',
  'maxTransferSize',
] as const satisfies readonly (keyof TransportInfo)[];

/** An exclusive session: who holds it and when it lapses unless renewed. */
interface Lease {
  client: number;
  leaseMs: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One device `usbms serve` owns: the opened MscDevice, the fair scheduler
 * every client's commands go through, the exclusive-session lease and the
 * "interrupted exclusive session" mark. This object is the one owner of the
 * lease state; the server reports connection deaths to it.
 */
export class ServedDevice {
  readonly id: number;
  readonly device: MscDevice;
  readonly scheduler = new FairScheduler();
  /** Senders of the clients subscribed to this device's trace. */
  readonly traceClients = new Set<(event: TraceEvent) => void>();
  #lease: Lease | undefined;
  #interrupted = false;
  #unsubscribeTrace: (() => void) | undefined;
  readonly #onChange: () => void;

  constructor(id: number, device: MscDevice, onChange: () => void) {
    this.id = id;
    this.device = device;
    this.#onChange = onChange;
  }

  /** True after an exclusive session ended without release, until cleared. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** The client holding the exclusive session, if any. */
  get holder(): number | undefined {
    return this.#lease?.client;
  }

  /** The descriptor clients see (no host paths); `readOnly` for a read-only token. */
  describe(readOnly: boolean): RemoteDeviceDescriptor {
    const info: Record<string, unknown> = {};
    for (const key of INFO_FIELDS) {
      const value = this.device.info[key];
      if (value !== undefined) info[key] = value;
    }
    return {
      id: this.id,
      info: info as unknown as TransportInfo,
      maxLun: this.device.maxLun,
      luns: this.device.luns.map((lu) => (lu.inquiry ? { lun: lu.number, inquiry: lu.inquiry } : { lun: lu.number })),
      quirks: { ...this.device.quirks },
      maxTransferBytes: this.device.maxTransferBytes,
      readOnly: readOnly || this.device.readOnly,
      state: this.device.state,
      interrupted: this.#interrupted,
      exclusive: this.#lease !== undefined,
    };
  }

  /** Grants the exclusive session to `client` (the scheduler calls this in the client's turn, with nothing on the wire). */
  grant(client: number, leaseMs: number): void {
    this.#lease = { client, leaseMs, timer: this.#expiryTimer(leaseMs) };
    this.scheduler.holder = client;
    this.#onChange();
  }

  /** Renews the lease; false when `client` does not hold it. */
  renew(client: number): boolean {
    const lease = this.#lease;
    if (lease === undefined || lease.client !== client) return false;
    clearTimeout(lease.timer);
    lease.timer = this.#expiryTimer(lease.leaseMs);
    return true;
  }

  /** Ends the session normally; false when `client` does not hold it. */
  release(client: number): boolean {
    if (this.#lease?.client !== client) return false;
    this.#end(false);
    return true;
  }

  /** The holder's connection is gone: the session ends now, and the device is marked interrupted. */
  holderGone(client: number): void {
    if (this.#lease?.client === client) this.#end(true);
  }

  /** Clears the "interrupted exclusive session" mark. */
  clearInterrupted(): void {
    if (!this.#interrupted) return;
    this.#interrupted = false;
    this.#onChange();
  }

  #expiryTimer(leaseMs: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#end(true), leaseMs);
    timer.unref?.();
    return timer;
  }

  #end(interrupted: boolean): void {
    const lease = this.#lease;
    if (lease === undefined) return;
    clearTimeout(lease.timer);
    this.#lease = undefined;
    if (interrupted) this.#interrupted = true;
    this.scheduler.holder = undefined;
    this.#onChange();
  }

  /** Starts or stops forwarding the device's trace, as subscribers come and go. */
  syncTrace(): void {
    if (this.traceClients.size > 0 && this.#unsubscribeTrace === undefined) {
      this.#unsubscribeTrace = this.device.onTrace((event) => {
        for (const send of this.traceClients) send(event);
      });
    } else if (this.traceClients.size === 0 && this.#unsubscribeTrace !== undefined) {
      this.#unsubscribeTrace();
      this.#unsubscribeTrace = undefined;
    }
  }

  /** The device is no longer served: lease timer and trace subscription end. */
  dispose(): void {
    if (this.#lease) clearTimeout(this.#lease.timer);
    this.#lease = undefined;
    this.traceClients.clear();
    this.syncTrace();
  }
}
