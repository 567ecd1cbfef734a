import { abortReason } from '../bot/abort.js';
import type { BlockReadOptions, BlockWriteOptions, CloseOptions, DeviceState, ExecuteRequest, ExecuteResult, RunOptions } from '../device.js';
import { ClosedError, DisconnectedError, deserializeError, InvalidArgumentError, RemoteProtocolError, TimeoutError, type UsbmsError } from '../errors.js';
import type { LogicalUnitHost } from '../logical-unit.js';
import { LogicalUnit } from '../logical-unit.js';
import type { Quirks } from '../quirks.js';
import type { Capacity } from '../scsi/capacity.js';
import type { CommandOptions, ScsiCommand } from '../scsi/command.js';
import type { InquiryData, ModeSenseData } from '../scsi/index.js';
import { decodeSense } from '../sense/decode.js';
import type { SenseData } from '../sense/types.js';
import { type TraceEvent, type TraceListener, Tracer } from '../trace.js';
import type { TransportInfo } from '../transport.js';
import {
  checkSerializedError,
  decodeFrame,
  decodeResult,
  decodeValueBody,
  ExecuteFlag,
  encodeExecute,
  encodeIdFrame,
  encodeValueFrame,
  type Frame,
  FrameType,
} from './frames.js';
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

/** An exclusive session on a served device: no other client's command runs until it is released or its lease expires. */
export interface ExclusiveSession {
  /** Ends the session; other clients' commands run again. */
  release(): Promise<void>;
  /** True once the server reported the lease lost (a renewal failed). */
  readonly lost: boolean;
}

/**
 * A device served by `usbms serve`, with the API of a local `MscDevice`:
 * typed commands, `execute`, `run` (your `defineCommand` vendor commands too),
 * block I/O through `lun(n)`, `onTrace`. Commands go through the server's one
 * queue for the device, shared fairly (round-robin) with every other client.
 */
export class RemoteDevice implements LogicalUnitHost {
  readonly #client: RemoteClient;
  #descriptor: RemoteDeviceDescriptor;
  readonly #luns: LogicalUnit<RemoteDevice>[] = [];
  readonly #tracer = new Tracer();
  readonly #disconnectListeners = new Set<() => void>();
  #state: DeviceState;
  #failure: UsbmsError | undefined;

  /** @internal Built by RemoteClient from the server's descriptor. */
  constructor(client: RemoteClient, descriptor: RemoteDeviceDescriptor) {
    this.#client = client;
    this.#descriptor = descriptor;
    this.#state = descriptor.state;
    for (let n = 0; n <= descriptor.maxLun; n++) {
      const unit = new LogicalUnit<RemoteDevice>(this, n);
      unit.inquiry = descriptor.luns.find((l) => l.lun === n)?.inquiry;
      this.#luns.push(unit);
    }
  }

  /** The server's id of this device. */
  get id(): number {
    return this.#descriptor.id;
  }

  /** USB identity and packet sizes as the server reports them (see MscDevice.info). */
  get info(): TransportInfo {
    return this.#descriptor.info;
  }

  /** The quirks the server applies to the device. */
  get quirks(): Quirks {
    return this.#descriptor.quirks;
  }

  /** Largest data stage of one READ/WRITE, as on the server (see MscDevice.maxTransferBytes). */
  get maxTransferBytes(): number {
    return this.#descriptor.maxTransferBytes;
  }

  /** True when writes are refused: the server opened the device read-only or this token is read-only. */
  get readOnly(): boolean {
    return this.#descriptor.readOnly;
  }

  /** Highest LUN number. */
  get maxLun(): number {
    return this.#descriptor.maxLun;
  }

  /** The logical units, with the INQUIRY data the server read at open. */
  get luns(): readonly LogicalUnit<RemoteDevice>[] {
    return this.#luns;
  }

  /** `open`, or why commands fail (`disconnected`, `failed`, `closed`). */
  get state(): DeviceState {
    return this.#state;
  }

  /** True while the device is marked "interrupted exclusive session" (see {@link RemoteDevice.clearInterruptedSession}). */
  get interrupted(): boolean {
    return this.#descriptor.interrupted;
  }

  /** True while some client holds an exclusive session. */
  get exclusive(): boolean {
    return this.#descriptor.exclusive;
  }

  /** The logical unit numbered `n` (InvalidArgumentError when there is none). */
  lun(n: number): LogicalUnit<RemoteDevice> {
    const unit = Number.isInteger(n) ? this.#luns[n] : undefined;
    if (unit === undefined) throw new InvalidArgumentError(`LUN ${n} does not exist: the device has LUNs 0-${this.maxLun}`);
    return unit;
  }

  /** @internal */
  update(descriptor: RemoteDeviceDescriptor): void {
    this.#descriptor = descriptor;
    this.#state = descriptor.state;
  }

  /** @internal */
  updateState(s: { state: DeviceState; interrupted: boolean; exclusive: boolean }): void {
    this.#descriptor = { ...this.#descriptor, state: s.state, interrupted: s.interrupted, exclusive: s.exclusive };
    if (this.#state !== 'disconnected' && this.#state !== 'closed') this.#state = s.state;
  }

  /** @internal The device or the connection went away. */
  gone(reason: UsbmsError): void {
    if (this.#failure) return;
    this.#failure = reason;
    this.#state = reason instanceof ClosedError ? 'closed' : 'disconnected';
    for (const listener of this.#disconnectListeners) listener();
  }

  /** @internal */
  emitTrace(event: TraceEvent): void {
    this.#tracer.emit(event);
  }

  /** Called once when the device is unplugged from the server or the connection is lost. */
  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /** Subscribes to the device's trace (every client's commands, as the server's queue ran them). */
  onTrace(listener: TraceListener): () => void {
    const first = !this.#tracer.active;
    const off = this.#tracer.on(listener);
    if (first) void this.#setTrace(true);
    return () => {
      off();
      if (!this.#tracer.active) void this.#setTrace(false);
    };
  }

  async #setTrace(on: boolean): Promise<void> {
    await this.#client.request((id) => encodeIdFrame(FrameType.Trace, id, this.id, on ? 1 : 0)).catch(() => undefined);
  }

  /** Raw command (see `MscDevice.execute`): status, data, residue and sense; no retries. */
  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    if (!(request.cdb instanceof Uint8Array)) throw new InvalidArgumentError('cdb must be a Uint8Array');
    const data = request.data;
    const length = request.direction === 'out' ? (data?.length ?? 0) : request.direction === 'in' ? (request.length ?? 0) : 0;
    return this.#send(request, length, data, request.throwOnCheckCondition ? ExecuteFlag.ThrowOnCheckCondition : 0, undefined);
  }

  /** Runs a built command (`scsi.*`, `defineCommand`) with the device's retry policy and decodes its answer locally (see `MscDevice.run`). */
  async run<T>(command: ScsiCommand<T>, options: RunOptions = {}): Promise<T> {
    const result = await this.runRaw(command, options, undefined);
    return command.decode(result.data);
  }

  /** @internal The typed-command call: the server runs the retry policy; status GOOD or an error. */
  runRaw(command: ScsiCommand<unknown>, options: RunOptions, into: Uint8Array | undefined): Promise<ExecuteResult> {
    const flags = ExecuteFlag.Run | (command.writesMedium ? ExecuteFlag.WritesMedium : 0);
    const request = {
      cdb: command.cdb,
      direction: command.direction,
      name: command.name,
      ...(options.lun === undefined ? {} : { lun: options.lun }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : command.timeoutMs !== undefined ? { timeoutMs: command.timeoutMs } : {}),
    };
    return this.#send(request, command.length, command.data, flags, into);
  }

  async #send(
    request: Omit<ExecuteRequest, 'length' | 'data'>,
    length: number,
    data: Uint8Array | undefined,
    flags: number,
    into: Uint8Array | undefined,
  ): Promise<ExecuteResult> {
    if (this.#failure) throw this.#failure;
    if (request.cdb.length < 1 || request.cdb.length > 16) {
      throw new InvalidArgumentError(`CDB must be 1-16 bytes (BOT 1.0 §5.1), got ${request.cdb.length}`);
    }
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new InvalidArgumentError(`transfer length ${length} is not a 32-bit count`);
    const timeoutMs = request.timeoutMs ?? 0;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0xffffffff)
      throw new InvalidArgumentError(`timeoutMs ${timeoutMs} is not a 32-bit count of ms`);
    const frame = await this.#client.request(
      (id) =>
        encodeExecute(id, {
          device: this.id,
          lun: request.lun ?? 0,
          direction: request.direction,
          flags,
          timeoutMs,
          length,
          cdb: request.cdb,
          name: request.name ?? '',
          data,
        }),
      request.signal,
    );
    if (frame.type !== FrameType.Result) throw new RemoteProtocolError(`expected RESULT, got frame type 0x${frame.type.toString(16)}`);
    const r = decodeResult(frame);
    let sense: SenseData | undefined;
    if (r.sense !== undefined) {
      try {
        sense = decodeSense(r.sense);
      } catch {
        sense = undefined;
      }
    }
    let out = r.data;
    if (into !== undefined && out.length <= into.length) {
      into.set(out);
      out = into.subarray(0, out.length);
    }
    return { status: r.status, statusCode: r.statusCode, data: out, residue: r.residue, ...(sense ? { sense } : {}) };
  }

  /** Reset recovery (BOT 1.0 §5.3.4) on the server, ahead of queued commands. */
  async reset(options: CommandOptions = {}): Promise<void> {
    await this.#client.request((id) => encodeIdFrame(FrameType.Reset, id, this.id), options.signal);
  }

  /**
   * Starts an exclusive session: resolves once no other client's command is on
   * the wire and none will be until `release()`. The lease is renewed every
   * `leaseMs / 3` while this connection lives; if the connection dies (or stops
   * renewing), the server ends the session after `leaseMs` and marks the
   * device "interrupted exclusive session".
   *
   * @example
   * const session = await device.acquireExclusive({ leaseMs: 5000 });
   * try { for (const block of firmware) await device.run(writeBuffer(block)); } finally { await session.release(); }
   */
  async acquireExclusive(options: CommandOptions & { leaseMs?: number } = {}): Promise<ExclusiveSession> {
    const leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isInteger(leaseMs) || leaseMs < 100 || leaseMs > 3_600_000) throw new InvalidArgumentError(`leaseMs must be 100-3600000, got ${leaseMs}`);
    await this.#client.request((id) => encodeIdFrame(FrameType.Acquire, id, this.id, leaseMs), options.signal);
    let lost = false;
    let released = false;
    const timer = setInterval(
      () => {
        this.#client
          .request((id) => encodeIdFrame(FrameType.Renew, id, this.id))
          .catch(() => {
            lost = true;
            clearInterval(timer);
          });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    (timer as { unref?: () => void }).unref?.();
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await this.#client.request((id) => encodeIdFrame(FrameType.Release, id, this.id));
      },
      get lost() {
        return lost;
      },
    };
  }

  /** Clears the "interrupted exclusive session" mark after you have checked (or redone) what the interrupted session was doing. */
  async clearInterruptedSession(options: CommandOptions = {}): Promise<void> {
    await this.#client.request((id) => encodeIdFrame(FrameType.ClearInterrupted, id, this.id), options.signal);
  }

  // Typed commands on the device for the LUN named in the options, as on MscDevice.

  /** TEST UNIT READY on `options.lun` (see LogicalUnit.testUnitReady). */
  testUnitReady(options: RunOptions = {}): Promise<void> {
    return this.lun(options.lun ?? 0).testUnitReady(options);
  }

  /** REQUEST SENSE on `options.lun`. */
  requestSense(options: RunOptions = {}): Promise<SenseData | undefined> {
    return this.lun(options.lun ?? 0).requestSense(options);
  }

  /** Standard INQUIRY data of `options.lun`, read anew. */
  inquiry(options: RunOptions = {}): Promise<InquiryData> {
    return this.lun(options.lun ?? 0).readInquiry(options);
  }

  /** A VPD page of `options.lun`. */
  inquiryVpd(page: number, options: RunOptions = {}): Promise<Uint8Array> {
    return this.lun(options.lun ?? 0).inquiryVpd(page, options);
  }

  /** READ CAPACITY of `options.lun`. */
  readCapacity(options: RunOptions = {}): Promise<Capacity> {
    return this.lun(options.lun ?? 0).readCapacity(options);
  }

  /** Reads blocks of `options.lun`. */
  read(lba: number, blocks: number, options: BlockReadOptions & RunOptions = {}): Promise<Uint8Array> {
    return this.lun(options.lun ?? 0).read(lba, blocks, options);
  }

  /** Writes blocks of `options.lun`. */
  write(lba: number, data: Uint8Array, options: BlockWriteOptions & RunOptions = {}): Promise<void> {
    return this.lun(options.lun ?? 0).write(lba, data, options);
  }

  /** SYNCHRONIZE CACHE of `options.lun`. */
  flush(options: RunOptions = {}): Promise<void> {
    return this.lun(options.lun ?? 0).flush(options);
  }

  /** MODE SENSE of `options.lun`. */
  modeSense(options: RunOptions & { page?: number } = {}): Promise<ModeSenseData> {
    return this.lun(options.lun ?? 0).modeSense(options);
  }

  /** Ejects the medium of `options.lun`. */
  eject(options: RunOptions = {}): Promise<void> {
    return this.lun(options.lun ?? 0).eject(options);
  }

  /** REPORT LUNS, sent to `options.lun`. */
  reportLuns(options: RunOptions = {}): Promise<number[]> {
    return this.lun(options.lun ?? 0).reportLuns(options);
  }

  /**
   * Stops listening to this device's trace. The server's device stays open for
   * other clients (options of `MscDevice.close` do not apply); close the
   * connection with `client.close()`.
   */
  async close(_options?: CloseOptions): Promise<void> {
    if (this.#tracer.active) await this.#setTrace(false);
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
