import { timingSafeEqual } from 'node:crypto';
import {
  AbortError,
  AccessDeniedError,
  ClosedError,
  DisconnectedError,
  type ExecuteResult,
  InterruptedSessionError,
  InvalidArgumentError,
  type MscDevice,
  NotFoundError,
  ReadOnlyError,
  type RemotePort,
  RemoteProtocolError,
  type RemoteWelcome,
  type ScsiCommand,
  type TraceEvent,
  UsbmsError,
} from '@usbms/core';
import {
  decodeExecute,
  decodeFrame,
  decodeIdBody,
  decodeValueBody,
  ExecuteFlag,
  type ExecuteFrame,
  encodeResult,
  encodeTraceEventFrame,
  encodeValueFrame,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameType,
  REMOTE_PROTOCOL_VERSION,
} from '@usbms/core/internal';
import { clientError, readOnlyRefusal, scrubText } from './policy.js';
import type { SchedulerJob } from './scheduler.js';
import { ServedDevice } from './served-device.js';

/** One accepted token. A read-only token may send only the opcodes of `READ_ONLY_OPCODES` (and `allowVendorOpcodes`). */
export interface ServeToken {
  token: string;
  readOnly: boolean;
}

/** Options of {@link RemoteServer}. */
export interface RemoteServerOptions {
  tokens: readonly ServeToken[];
  /** Vendor opcodes (0xC0-0xFF) read-only tokens may send too. Default none. */
  allowVendorOpcodes?: readonly number[];
  /** Largest frame a client may send, and largest data-in it may ask for (minus headers). Default 16 MiB + 64. */
  maxFrameBytes?: number;
  /** Commands one client may have queued or running at once. Default 64. */
  maxInFlight?: number;
  /** How long a new connection has to say HELLO with its token. Default 10 000 ms. */
  helloTimeoutMs?: number;
  /** Log lines (connections, refusals); default none. */
  log?: (line: string) => void;
}

/** Default largest frame: a 16 MiB data stage plus headers. */
export const DEFAULT_MAX_FRAME_BYTES = (16 << 20) + 64;
/** Default commands one client may have queued or running. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The server side of docs/remote-protocol.md, over any {@link RemotePort}. `usbms serve` puts WebSocket and Unix-socket listeners in front of it. */
export class RemoteServer {
  readonly options: Required<Omit<RemoteServerOptions, 'log'>> & Pick<RemoteServerOptions, 'log'>;
  readonly #devices = new Map<number, ServedDevice>();
  readonly #sessions = new Set<Session>();
  readonly allowVendor: ReadonlySet<number>;
  #nextDevice = 1;
  #nextClient = 1;
  #closed = false;

  constructor(options: RemoteServerOptions) {
    if (options.tokens.length === 0 || options.tokens.some((t) => t.token.length < 16)) {
      throw new InvalidArgumentError('usbms serve needs at least one token of 16 characters or more');
    }
    this.options = {
      tokens: options.tokens,
      allowVendorOpcodes: options.allowVendorOpcodes ?? [],
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      ...(options.log ? { log: options.log } : {}),
    };
    this.allowVendor = new Set(this.options.allowVendorOpcodes);
  }

  /** The token entry `token` matches, if any (constant-time comparison). */
  findToken(token: string): ServeToken | undefined {
    return this.options.tokens.find((t) => sameToken(t.token, token));
  }

  /** The devices served now. */
  get devices(): readonly ServedDevice[] {
    return [...this.#devices.values()];
  }

  /** Connections open now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Serves an opened device to every client (announced to connected clients). Its unplugging is announced too. */
  addDevice(device: MscDevice): ServedDevice {
    const id = this.#nextDevice++;
    const served = new ServedDevice(id, device, () => this.#broadcastState(served));
    this.#devices.set(id, served);
    device.onDisconnect(() => this.removeDevice(id));
    for (const s of this.#sessions) s.event({ type: 'device-added', device: served.describe(s.readOnly) });
    return served;
  }

  /** Stops serving a device (unplugged, or the server is closing): queued commands fail, clients are told. */
  removeDevice(id: number): void {
    const served = this.#devices.get(id);
    if (served === undefined) return;
    this.#devices.delete(id);
    served.scheduler.dropAll(new DisconnectedError('The device was unplugged'));
    served.dispose();
    for (const s of this.#sessions) s.event({ type: 'device-removed', id });
  }

  /** The served device with this id, if any. */
  device(id: number): ServedDevice | undefined {
    return this.#devices.get(id);
  }

  /**
   * Serves one connection. `authenticated` is set when the listener already
   * checked the token (WebSocket subprotocol offer); otherwise the first frame
   * must be HELLO with a token.
   */
  attach(port: RemotePort, options: { peer: string; authenticated?: ServeToken } = { peer: 'client' }): void {
    if (this.#closed) {
      port.close('server closing');
      return;
    }
    const session = new Session(this, port, this.#nextClient++, options.peer, options.authenticated);
    this.#sessions.add(session);
    port.onClose(() => {
      this.#sessions.delete(session);
      session.gone();
    });
  }

  /** Closes every connection and the devices. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of [...this.#sessions]) s.close('server closing');
    for (const served of [...this.#devices.values()]) {
      this.removeDevice(served.id);
      await served.device.close().catch(() => undefined);
    }
  }

  #broadcastState(served: ServedDevice): void {
    const d = served.describe(false);
    for (const s of this.#sessions) s.event({ type: 'device-state', id: served.id, state: d.state, interrupted: d.interrupted, exclusive: d.exclusive });
  }
}

/** One request of a client that is queued or running on a device. */
interface InFlight {
  job: SchedulerJob;
  served: ServedDevice;
  started: boolean;
  controller: AbortController | undefined;
}

/** One connection: authentication, per-client limits, and the requests it has in flight. */
class Session {
  readonly #server: RemoteServer;
  readonly #port: RemotePort;
  readonly client: number;
  readonly #peer: string;
  #token: ServeToken | undefined;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #traced = new Map<ServedDevice, (event: TraceEvent) => void>();
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  #alive = true;

  constructor(server: RemoteServer, port: RemotePort, client: number, peer: string, authenticated: ServeToken | undefined) {
    this.#server = server;
    this.#port = port;
    this.client = client;
    this.#peer = peer;
    this.#token = authenticated;
    port.onFrame((bytes) => this.#onFrame(bytes));
    this.#helloTimer = setTimeout(() => this.#refuse(0, new AccessDeniedError('no HELLO with a token in time')), server.options.helloTimeoutMs);
    this.#helloTimer.unref?.();
  }

  get readOnly(): boolean {
    return this.#token?.readOnly ?? true;
  }

  #welcomed = false;

  /** Sends an announcement, once the client is past HELLO. */
  event(value: unknown): void {
    if (this.#welcomed) this.#send(encodeValueFrame(FrameType.Event, 0, value));
  }

  close(reason: string): void {
    this.#port.close(reason);
  }

  #send(frame: Uint8Array): void {
    if (this.#alive) this.#port.send(frame);
  }

  #reply(id: number, value: unknown = null): void {
    this.#send(encodeValueFrame(FrameType.Ok, id, value));
  }

  #error(id: number, error: unknown): void {
    this.#send(encodeValueFrame(FrameType.Error, id, clientError(error)));
  }

  /** Answers with the error and closes the connection (bad token, malformed frame: its state cannot be trusted). */
  #refuse(id: number, error: unknown): void {
    this.#server.options.log?.(`usbms serve: refused ${this.#peer}: ${error instanceof Error ? error.message : String(error)}`);
    this.#error(id, error);
    this.#port.close(error instanceof UsbmsError ? error.code : 'refused');
  }

  #onFrame(bytes: Uint8Array): void {
    if (!this.#alive) return;
    let frame: Frame;
    try {
      frame = decodeFrame(bytes, 'client', this.#server.options.maxFrameBytes);
    } catch (error) {
      this.#refuse(0, error);
      return;
    }
    try {
      this.#dispatch(frame);
    } catch (error) {
      // Malformed bodies and protocol-state errors end the connection; nothing else does.
      if (error instanceof RemoteProtocolError) this.#refuse(frame.id, error);
      else this.#error(frame.id, error);
    }
  }

  #dispatch(frame: Frame): void {
    if (!this.#welcomed) {
      if (frame.type !== FrameType.Hello) this.#refuse(frame.id, new AccessDeniedError('the first frame must be HELLO with the token'));
      else this.#hello(frame);
      return;
    }
    switch (frame.type) {
      case FrameType.Execute:
        this.#execute(frame);
        break;
      case FrameType.Cancel:
        this.#cancel(decodeIdBody(frame, 'CANCEL', false).device);
        break;
      case FrameType.ListDevices:
        decodeValueBody(frame, 'LIST DEVICES');
        this.#reply(
          frame.id,
          this.#server.devices.map((d) => d.describe(this.readOnly)),
        );
        break;
      case FrameType.Trace:
        this.#trace(frame);
        break;
      case FrameType.Reset:
        this.#reset(frame);
        break;
      case FrameType.Acquire:
        this.#acquire(frame);
        break;
      case FrameType.Release:
      case FrameType.Renew:
      case FrameType.ClearInterrupted:
        this.#lease(frame);
        break;
      case FrameType.Hello:
        throw new RemoteProtocolError('HELLO was already received');
      default:
        throw new RemoteProtocolError(`frame type 0x${frame.type.toString(16)} is not a request`);
    }
  }

  #hello(frame: Frame): void {
    const hello = decodeValueBody(frame, 'HELLO') as { token?: unknown; client?: unknown } | null;
    const token = typeof hello?.token === 'string' ? this.#server.findToken(hello.token) : undefined;
    // A connection the listener authenticated (WebSocket subprotocol) may send HELLO without a token.
    const entry = token ?? this.#token;
    if (entry === undefined) {
      this.#refuse(frame.id, new AccessDeniedError('missing or wrong token (see the token file of usbms serve)'));
      return;
    }
    this.#token = entry;
    clearTimeout(this.#helloTimer);
    this.#welcomed = true;
    const welcome: RemoteWelcome = {
      protocol: REMOTE_PROTOCOL_VERSION,
      readOnly: entry.readOnly,
      limits: { maxFrameBytes: this.#server.options.maxFrameBytes, maxInFlight: this.#server.options.maxInFlight },
      devices: this.#server.devices.map((d) => d.describe(entry.readOnly)),
    };
    const name = typeof hello?.client === 'string' ? hello.client.slice(0, 64) : 'client';
    this.#server.options.log?.(`usbms serve: ${this.#peer} connected (${name}${entry.readOnly ? ', read-only' : ''})`);
    this.#send(encodeValueFrame(FrameType.Welcome, frame.id, welcome));
  }

  #served(id: number): ServedDevice {
    const served = this.#server.device(id);
    if (served === undefined) throw new NotFoundError(`usbms serve has no device ${id}`);
    return served;
  }

  #execute(frame: Frame): void {
    const request = decodeExecute(frame, this.#server.options.maxFrameBytes - FRAME_HEADER_BYTES - 8 - 252);
    const served = this.#served(request.device);
    if (this.readOnly) {
      const why = readOnlyRefusal(request.cdb, request.direction, (request.flags & ExecuteFlag.WritesMedium) !== 0, this.#server.allowVendor);
      if (why !== undefined) throw new ReadOnlyError(`${request.name || `opcode 0x${(request.cdb[0] ?? 0).toString(16)}`} refused: ${why}`);
    }
    if (this.#inFlight.has(frame.id)) throw new RemoteProtocolError(`request id ${frame.id} is already in flight`);
    if (this.#inFlight.size >= this.#server.options.maxInFlight) {
      // Not a protocol error: the client may retry after some of its commands settle.
      this.#error(
        frame.id,
        new InvalidArgumentError(`too many commands in flight (limit ${this.#server.options.maxInFlight} per client)`, {
          details: { limit: this.#server.options.maxInFlight },
        }),
      );
      return;
    }
    this.#refuseIfInterrupted(served);
    const id = frame.id;
    const entry: InFlight = {
      served,
      started: false,
      controller: undefined,
      job: {
        client: this.client,
        run: async () => {
          entry.started = true;
          try {
            this.#refuseIfInterrupted(served);
            const result = await this.#run(served.device, request, entry);
            if (this.#inFlight.get(id) === entry) this.#send(encodeResult(id, resultFrame(result)));
          } catch (error) {
            if (this.#inFlight.get(id) === entry) this.#error(id, error);
          } finally {
            if (this.#inFlight.get(id) === entry) this.#inFlight.delete(id);
          }
        },
        drop: (error) => {
          if (this.#inFlight.get(id) !== entry) return;
          this.#inFlight.delete(id);
          this.#error(id, error);
        },
      },
    };
    this.#inFlight.set(id, entry);
    served.scheduler.enqueue(entry.job);
  }

  #refuseIfInterrupted(served: ServedDevice): void {
    if (served.interrupted) {
      throw new InterruptedSessionError(
        'An exclusive session on this device ended without release (its client died or stopped renewing the lease): the device may be mid-sequence. Check it, then clear the mark with clearInterruptedSession().',
      );
    }
  }

  #run(device: MscDevice, r: ExecuteFrame, entry: InFlight): Promise<ExecuteResult> {
    // Only an explicit CANCEL aborts a running command (the device then runs reset
    // recovery); a client that disconnects lets its command run to completion.
    entry.controller = new AbortController();
    const signal = entry.controller.signal;
    const common = { lun: r.lun, signal, ...(r.timeoutMs > 0 ? { timeoutMs: r.timeoutMs } : {}) };
    if ((r.flags & ExecuteFlag.Run) !== 0) {
      const command: ScsiCommand<Uint8Array> = {
        name: r.name || `opcode 0x${(r.cdb[0] ?? 0).toString(16)}`,
        cdb: r.cdb,
        direction: r.direction,
        length: r.length,
        ...(r.data ? { data: r.data } : {}),
        writesMedium: (r.flags & ExecuteFlag.WritesMedium) !== 0,
        decode: (d) => d,
      };
      return device.runRaw(command, common, undefined);
    }
    return device.execute({
      cdb: r.cdb,
      direction: r.direction,
      ...(r.direction === 'in' ? { length: r.length } : {}),
      ...(r.data ? { data: r.data } : {}),
      ...(r.name ? { name: r.name } : {}),
      throwOnCheckCondition: (r.flags & ExecuteFlag.ThrowOnCheckCondition) !== 0,
      ...common,
    });
  }

  #cancel(target: number): void {
    const entry = this.#inFlight.get(target);
    if (entry === undefined) return;
    const error = new AbortError('The command was cancelled by its client');
    if (!entry.started) {
      entry.served.scheduler.remove(entry.job);
      this.#inFlight.delete(target);
      this.#error(target, error);
    } else {
      entry.controller?.abort(error);
    }
  }

  #trace(frame: Frame): void {
    const { device, extra } = decodeIdBody(frame, 'TRACE', true);
    const served = this.#served(device);
    if (extra !== 0 && !this.#traced.has(served)) {
      const send = (event: TraceEvent): void => {
        this.#send(
          encodeTraceEventFrame(served.id, event.type === 'command-end' && event.error !== undefined ? { ...event, error: scrubText(event.error) } : event),
        );
      };
      this.#traced.set(served, send);
      served.traceClients.add(send);
    } else if (extra === 0) {
      const send = this.#traced.get(served);
      if (send) served.traceClients.delete(send);
      this.#traced.delete(served);
    }
    served.syncTrace();
    this.#reply(frame.id);
  }

  #reset(frame: Frame): void {
    const served = this.#served(decodeIdBody(frame, 'RESET', false).device);
    if (this.readOnly) throw new ReadOnlyError('reset refused: the token is read-only');
    const id = frame.id;
    served.scheduler.enqueue({
      client: this.client,
      run: () =>
        served.device.reset().then(
          () => this.#reply(id),
          (error: unknown) => this.#error(id, error),
        ),
      drop: (error) => this.#error(id, error),
    });
  }

  #acquire(frame: Frame): void {
    const { device, extra: leaseMs } = decodeIdBody(frame, 'ACQUIRE', true);
    const served = this.#served(device);
    if (this.readOnly) throw new ReadOnlyError('exclusive sessions need a token that is not read-only');
    if (leaseMs < 100 || leaseMs > 3_600_000) throw new InvalidArgumentError(`lease of ${leaseMs} ms is not 100-3600000`);
    if (served.holder === this.client) throw new InvalidArgumentError('this client already holds the exclusive session');
    const id = frame.id;
    // The grant is a job in this client's turn: it runs when nothing else is on the wire.
    served.scheduler.enqueue({
      client: this.client,
      run: async () => {
        if (!this.#alive) return;
        served.grant(this.client, leaseMs);
        this.#reply(id, { leaseMs });
      },
      drop: (error) => this.#error(id, error),
    });
  }

  #lease(frame: Frame): void {
    const served = this.#served(decodeIdBody(frame, 'LEASE', false).device);
    if (frame.type === FrameType.ClearInterrupted) {
      if (this.readOnly) throw new ReadOnlyError('clearing the interrupted mark needs a token that is not read-only');
      served.clearInterrupted();
      this.#reply(frame.id);
      return;
    }
    const ok = frame.type === FrameType.Renew ? served.renew(this.client) : served.release(this.client);
    if (!ok) throw new ClosedError('this client holds no exclusive session on the device (it expired or was released)');
    this.#reply(frame.id);
  }

  /** The connection is gone: queued commands dropped, the one on the wire left to finish, a held lease ends as interrupted. */
  gone(): void {
    if (!this.#alive) return;
    this.#alive = false;
    clearTimeout(this.#helloTimer);
    const error = new ClosedError('The client disconnected');
    for (const served of this.#server.devices) {
      served.scheduler.dropClient(this.client, error);
      served.holderGone(this.client);
      const send = this.#traced.get(served);
      if (send) served.traceClients.delete(send);
      served.syncTrace();
    }
    this.#traced.clear();
    this.#inFlight.clear();
    this.#server.options.log?.(`usbms serve: ${this.#peer} disconnected`);
  }
}

function resultFrame(result: ExecuteResult): Parameters<typeof encodeResult>[1] {
  return { status: result.status, statusCode: result.statusCode, residue: result.residue, sense: result.sense?.raw, data: result.data };
}
