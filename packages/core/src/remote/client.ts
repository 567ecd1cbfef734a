/**
 * `RemoteClient`: one connection to `usbms serve` (docs/remote-protocol.md) over a `RemotePort`: the
 * HELLO/WELCOME handshake, request ids and the answers they wait for (with cancellation), the server's
 * announcements (hotplug, device state, traces) and what the connection's end means for every pending
 * request. Also `connectRemote`, the same over WebSocket. The served devices are remote/device.ts.
 */
import { abortReason } from '../bot/abort.js';
import type { DeviceState } from '../device.js';
import { ClosedError, DisconnectedError, deserializeError, InvalidArgumentError, RemoteProtocolError, TimeoutError, type UsbmsError } from '../errors.js';
import type { Quirks } from '../quirks.js';
import type { CommandOptions } from '../scsi/command.js';
import type { InquiryData } from '../scsi/index.js';
import type { TraceEvent } from '../trace.js';
import type { TransportInfo } from '../transport.js';
import { RemoteDevice } from './device.js';
import { checkSerializedError, decodeFrame, decodeValueBody, encodeIdFrame, encodeValueFrame, type Frame, FrameType } from './frames.js';
import { type RemotePort, type WebSocketLike, webSocketPort } from './port.js';

/** A served device as the server describes it (WELCOME, DEVICES and `device-added`). */
export interface RemoteDeviceDescriptor {
  /** The server's id for the device, stable while it stays plugged in. */
  id: number;
  /** USB identity and packet sizes (no host paths: the server leaves them out). */
  info: TransportInfo;
  maxLun: number;
  /** INQUIRY data of each LUN read by the server when it opened the device. */
  luns: { lun: number; inquiry?: InquiryData }[];
  quirks: Quirks;
  maxTransferBytes: number;
  /** True when the server opened the device read-only or this client's token is read-only. */
  readOnly: boolean;
  state: DeviceState;
  /** An exclusive session ended without release: commands are refused until cleared. */
  interrupted: boolean;
  /** A client holds an exclusive session. */
  exclusive: boolean;
}

/** Limits the server applies to this connection. */
export interface RemoteLimits {
  maxFrameBytes: number;
  maxInFlight: number;
}

/** What the server says after HELLO. */
export interface RemoteWelcome {
  protocol: number;
  readOnly: boolean;
  limits: RemoteLimits;
  devices: RemoteDeviceDescriptor[];
}

/** Announcements: hotplug and changes of a device's state. */
export type RemoteEvent =
  | { type: 'device-added'; device: RemoteDeviceDescriptor }
  | { type: 'device-removed'; id: number }
  | { type: 'device-state'; id: number; state: DeviceState; interrupted: boolean; exclusive: boolean };

/** Options of {@link RemoteClient.connect} and {@link connectRemote}. */
export interface RemoteConnectOptions {
  /** The token `usbms serve` printed (and wrote to its token file). */
  token: string;
  /** Shown in the server's log. */
  clientName?: string;
  /** How long to wait for the server's WELCOME. Default 10 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(frame: Frame): void;
  reject(error: unknown): void;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkDescriptor(value: unknown): RemoteDeviceDescriptor {
  const ok =
    isObject(value) &&
    typeof value.id === 'number' &&
    isObject(value.info) &&
    typeof value.maxLun === 'number' &&
    Array.isArray(value.luns) &&
    isObject(value.quirks) &&
    typeof value.maxTransferBytes === 'number' &&
    typeof value.readOnly === 'boolean' &&
    typeof value.state === 'string' &&
    typeof value.interrupted === 'boolean';
  if (!ok) throw new RemoteProtocolError('device descriptor is malformed');
  return value as unknown as RemoteDeviceDescriptor;
}

/**
 * One connection to `usbms serve` (or any server of docs/remote-protocol.md)
 * over any {@link RemotePort}. Its {@link RemoteClient.devices} have the API of
 * a local `MscDevice`.
 *
 * @example
 * const client = await connectRemote('ws://127.0.0.1:5181', { token });
 * const device = client.device();
 * console.log(device.lun(0).inquiry, await device.lun(0).readCapacity());
 * client.close();
 */
export class RemoteClient {
  readonly #port: RemotePort;
  readonly #pending = new Map<number, Pending>();
  readonly #devices = new Map<number, RemoteDevice>();
  readonly #eventListeners = new Set<(event: RemoteEvent) => void>();
  #nextId = 1;
  #closed: UsbmsError | undefined;
  #welcome: RemoteWelcome | undefined;

  private constructor(port: RemotePort) {
    this.#port = port;
    port.onFrame((bytes) => this.#onFrame(bytes));
    port.onClose((reason) => this.#onClose(reason));
  }

  /** Says HELLO with the token over an open port and waits for WELCOME. */
  static async connect(port: RemotePort, options: RemoteConnectOptions): Promise<RemoteClient> {
    const client = new RemoteClient(port);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(`usbms serve did not answer HELLO within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => controller.abort(options.signal ? abortReason(options.signal) : undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const frame = await client.#request(
        (id) => encodeValueFrame(FrameType.Hello, id, { token: options.token, client: options.clientName ?? 'usbms client' }),
        controller.signal,
      );
      if (frame.type !== FrameType.Welcome) throw new RemoteProtocolError(`expected WELCOME, got frame type 0x${frame.type.toString(16)}`);
      const welcome = decodeValueBody(frame, 'WELCOME');
      if (!isObject(welcome) || !Array.isArray(welcome.devices) || !isObject(welcome.limits) || typeof welcome.protocol !== 'number') {
        throw new RemoteProtocolError('WELCOME is malformed');
      }
      client.#welcome = welcome as unknown as RemoteWelcome;
      for (const d of welcome.devices) client.#addDevice(checkDescriptor(d));
      return client;
    } catch (error) {
      port.close('handshake failed');
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The devices the server serves now (hotplug adds and removes them; see {@link RemoteClient.onEvent}). */
  get devices(): readonly RemoteDevice[] {
    return [...this.#devices.values()];
  }

  /** The device with server id `id`, or the first one. Throws NotFound-like InvalidArgumentError when there is none. */
  device(id?: number): RemoteDevice {
    const device = id === undefined ? this.#devices.values().next().value : this.#devices.get(id);
    if (device === undefined) {
      throw new InvalidArgumentError(id === undefined ? 'usbms serve serves no device' : `usbms serve has no device ${id}`);
    }
    return device;
  }

  /** True when this connection's token is read-only. */
  get readOnly(): boolean {
    return this.#welcome?.readOnly ?? false;
  }

  /** Frame size and in-flight limits the server applies to this connection. */
  get limits(): RemoteLimits {
    return this.#welcome?.limits ?? { maxFrameBytes: 0, maxInFlight: 0 };
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Hotplug and state announcements. Returns the unsubscribe function. */
  onEvent(listener: (event: RemoteEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Asks the server for its current device list (also kept up to date by announcements). */
  async listDevices(options: CommandOptions = {}): Promise<readonly RemoteDevice[]> {
    const frame = await this.#request((id) => encodeValueFrame(FrameType.ListDevices, id, null), options.signal);
    const list = decodeValueBody(frame, 'DEVICES');
    if (!Array.isArray(list)) throw new RemoteProtocolError('DEVICES is not a list');
    for (const d of list) {
      const descriptor = checkDescriptor(d);
      const known = this.#devices.get(descriptor.id);
      if (known) known.update(descriptor);
      else this.#addDevice(descriptor);
    }
    return this.devices;
  }

  /** Closes the connection. Commands still on the wire run to completion on the server; their results are dropped. */
  close(): void {
    this.#port.close('client closed');
    this.#onClose('client closed');
  }

  /** @internal Sends a frame built for a fresh request id and waits for its answer (an ERROR answer rejects). */
  request(build: (id: number) => Uint8Array, signal?: AbortSignal): Promise<Frame> {
    return this.#request(build, signal);
  }

  /** @internal Sends a frame that has no answer. */
  post(frame: Uint8Array): void {
    if (this.#closed === undefined) this.#port.send(frame);
  }

  #request(build: (id: number) => Uint8Array, signal: AbortSignal | undefined): Promise<Frame> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    const frame = build(id);
    return new Promise<Frame>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal) {
        onAbort = () => {
          if (!this.#pending.delete(id)) return;
          // Cancellation by request id: dropped if queued on the server, aborted if on the wire.
          this.post(encodeIdFrame(FrameType.Cancel, 0, id));
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#pending.set(id, {
        resolve: (f) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          resolve(f);
        },
        reject: (e) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.#port.send(frame);
    });
  }

  #onFrame(bytes: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes, 'server', Number.MAX_SAFE_INTEGER);
      if (frame.type === FrameType.TraceEvent) {
        this.#onTraceEvent(frame);
        return;
      }
      if (frame.type === FrameType.Event) {
        this.#onEvent(frame);
        return;
      }
    } catch (error) {
      // A server that sends garbage is not one to keep talking to.
      this.#port.close('malformed frame from server');
      this.#onClose(error instanceof Error ? error.message : 'malformed frame from server');
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) return; // cancelled, or answered already
    this.#pending.delete(frame.id);
    if (frame.type === FrameType.Error) {
      try {
        pending.reject(deserializeError(checkSerializedError(decodeValueBody(frame, 'ERROR'))));
      } catch (error) {
        pending.reject(error);
      }
      return;
    }
    pending.resolve(frame);
  }

  #onTraceEvent(frame: Frame): void {
    const body = frame.body;
    if (body.length < 4) throw new RemoteProtocolError('TRACE EVENT: body shorter than its device id');
    const device = this.#devices.get(new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true));
    const event = decodeValueBody({ ...frame, body: body.subarray(4) }, 'TRACE EVENT');
    if (!isObject(event) || typeof event.type !== 'string') throw new RemoteProtocolError('TRACE EVENT is malformed');
    device?.emitTrace(event as unknown as TraceEvent);
  }

  #onEvent(frame: Frame): void {
    const event = decodeValueBody(frame, 'EVENT');
    if (!isObject(event) || typeof event.type !== 'string') throw new RemoteProtocolError('EVENT is malformed');
    if (event.type === 'device-added') {
      const descriptor = checkDescriptor(event.device);
      if (!this.#devices.has(descriptor.id)) this.#addDevice(descriptor);
    } else if (event.type === 'device-removed' && typeof event.id === 'number') {
      const device = this.#devices.get(event.id);
      this.#devices.delete(event.id);
      device?.gone(new DisconnectedError('The device was unplugged from the usbms serve host'));
    } else if (event.type === 'device-state' && typeof event.id === 'number') {
      this.#devices.get(event.id)?.updateState(event as { state: DeviceState; interrupted: boolean; exclusive: boolean });
    } else {
      return;
    }
    for (const listener of this.#eventListeners) {
      try {
        listener(event as unknown as RemoteEvent);
      } catch {
        // A faulty listener must not break the connection.
      }
    }
  }

  #addDevice(descriptor: RemoteDeviceDescriptor): void {
    this.#devices.set(descriptor.id, new RemoteDevice(this, descriptor));
  }

  #onClose(reason: string): void {
    if (this.#closed) return;
    this.#closed =
      reason === 'client closed'
        ? new ClosedError('The connection to usbms serve was closed')
        : new DisconnectedError(`Lost the connection to usbms serve (${reason})`);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#closed);
    for (const device of this.#devices.values()) device.gone(this.#closed);
  }
}

/** A WebSocket class: the browser's `WebSocket`, or `ws`'s in Node (`@usbms/node`'s `connectRemote` passes it). */
export type WebSocketConstructorLike = new (
  url: string,
  protocols?: string[],
) => WebSocketLike & {
  /** The connection is open. */
  addEventListener(type: 'open', listener: () => void): void;
};

/** The subprotocol of the remote protocol on WebSocket (docs/remote-protocol.md §2). */
export const REMOTE_SUBPROTOCOL = 'usbms.v1';

/**
 * Connects to `usbms serve` over WebSocket (`ws://127.0.0.1:PORT`), from a
 * browser, an Electron renderer or Node (with `options.WebSocket`, or use
 * `connectRemote` of `@usbms/node`, which also takes `unix:/path`).
 */
export async function connectRemote(url: string, options: RemoteConnectOptions & { WebSocket?: WebSocketConstructorLike }): Promise<RemoteClient> {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  if (Ctor === undefined) throw new InvalidArgumentError('no WebSocket class here: pass options.WebSocket (e.g. from the ws package)');
  const ws = new Ctor(url, [REMOTE_SUBPROTOCOL]);
  const port = webSocketPort(ws);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    port.onClose((reason) => reject(new DisconnectedError(`Could not connect to usbms serve at ${url} (${reason})`)));
  });
  return RemoteClient.connect(port, options);
}
