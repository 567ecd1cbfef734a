/**
 * `RemoteDevice`: a device served by `usbms serve`, seen through one `RemoteClient` connection, with
 * the API of a local `MscDevice` (typed commands through `LogicalUnit`, `execute`, `run`, traces), plus
 * what only a shared device has: exclusive sessions with a renewed lease and the "interrupted session"
 * mark. It turns each command into an EXECUTE frame and its RESULT back into an `ExecuteResult`; the
 * connection itself (handshake, request ids, announcements) is client.ts.
 */
import type { BlockReadOptions, BlockWriteOptions, CloseOptions, DeviceState, ExecuteRequest, ExecuteResult, RunOptions } from '../device.js';
import { ClosedError, InvalidArgumentError, RemoteProtocolError, type UsbmsError } from '../errors.js';
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
import type { RemoteClient, RemoteDeviceDescriptor } from './client.js';
import { decodeResult, ExecuteFlag, encodeExecute, encodeIdFrame, FrameType } from './frames.js';

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
