import { BotRequest } from '../bot/wire.js';
import { AbortError, DisconnectedError, TimeoutError } from '../errors.js';
import { now } from '../trace.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '../transport.js';

/** How a transfer ended, in USB terms (usbmon reports each as an errno, see `usbmon.ts`). */
export type UrbStatus = 'ok' | 'stall' | 'babble' | 'timeout' | 'cancelled' | 'disconnected' | 'error';

/** Which transport call a URB belongs to: what a transcript line records. */
export type UrbOperation =
  | { kind: 'bulk-out' }
  | { kind: 'bulk-in'; requested: number }
  | { kind: 'clear-halt'; pipe: 'in' | 'out' }
  | { kind: 'class'; request: ClassRequest['request'] }
  | { kind: 'port-reset' };

/** Fields shared by the submission and the completion of one transfer. */
interface UrbBase {
  /** Same number on the submission and the completion of one transfer (the usbmon URB id). */
  id: number;
  /** Wall-clock time, milliseconds since the epoch (fractional). */
  time: number;
  operation: UrbOperation;
  /** 'none' for a port reset, which is no transfer on the device's pipes. */
  transfer: 'bulk' | 'control' | 'none';
  /** bEndpointAddress (0x80 set for IN; control transfers: 0x00 or 0x80 by the data stage's direction). */
  endpoint: number;
  /** The 8-byte SETUP packet of a control transfer (USB 2.0 §9.3). */
  setup?: Uint8Array;
}

/** A transfer handed to the platform. `data` (OUT only) is the caller's buffer: copy what you keep. */
export interface UrbSubmit extends UrbBase {
  phase: 'submit';
  /** Requested length: bytes to send (OUT) or the most to receive (IN). */
  length: number;
  data?: Uint8Array;
}

/** A transfer that ended. `data` (IN only) is the transport's buffer: copy what you keep. */
export interface UrbComplete extends UrbBase {
  phase: 'complete';
  status: UrbStatus;
  /** Bytes actually transferred. */
  length: number;
  data?: Uint8Array;
  /** The error's message when `status` is not a result (timeout, cancel, disconnect, error). */
  error?: string;
}

/** A submission or a completion, as `RecordingTransport` reports them. */
export type UrbEvent = UrbSubmit | UrbComplete;

/** Receives every submission and completion, synchronously. A listener that throws never breaks a transfer. */
export type UrbListener = (event: UrbEvent) => void;

/** Defaults when the transport does not know its endpoints (the usual BOT layout). */
const DEFAULT_ENDPOINT_IN = 0x81;
const DEFAULT_ENDPOINT_OUT = 0x02;

/** bEndpointAddress of the bulk-IN endpoint of `info` (0x81 when unknown). */
export function endpointInOf(info: TransportInfo): number {
  return info.endpointIn ?? DEFAULT_ENDPOINT_IN;
}

/** bEndpointAddress of the bulk-OUT endpoint of `info` (0x02 when unknown). */
export function endpointOutOf(info: TransportInfo): number {
  return info.endpointOut ?? DEFAULT_ENDPOINT_OUT;
}

/** SETUP packet: bmRequestType, bRequest, wValue, wIndex, wLength (USB 2.0 §9.3, little-endian words). */
function setupPacket(requestType: number, request: number, value: number, index: number, length: number): Uint8Array {
  return Uint8Array.of(requestType, request, value & 0xff, value >> 8, index & 0xff, index >> 8, length & 0xff, length >> 8);
}

/** The SETUP packet a transport sends for a BOT class request (BOT 1.0 §3.1 reset: 21 FF; §3.2 Get Max LUN: A1 FE, wLength 1). */
export function classRequestSetup(request: ClassRequest['request'], interfaceNumber: number): Uint8Array {
  return request === 'get-max-lun'
    ? setupPacket(0xa1, BotRequest.GetMaxLun, 0, interfaceNumber, 1)
    : setupPacket(0x21, BotRequest.Reset, 0, interfaceNumber, 0);
}

/** CLEAR_FEATURE(ENDPOINT_HALT) to an endpoint (USB 2.0 §9.4.1: bmRequestType 02, bRequest 1, wValue 0, wIndex = endpoint). */
export function clearHaltSetup(endpoint: number): Uint8Array {
  return setupPacket(0x02, 0x01, 0, endpoint, 0);
}

/** A cancellation by the caller's deadline (the queue aborts with a TimeoutError reason) is a timeout too. */
function statusOfError(error: unknown, signal: AbortSignal | undefined): UrbStatus {
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof AbortError) return signal?.aborted === true && signal.reason instanceof TimeoutError ? 'timeout' : 'cancelled';
  if (error instanceof DisconnectedError) return 'disconnected';
  return 'error';
}

/** Options of {@link RecordingTransport}. */
export interface RecordingTransportOptions {
  /** Wall-clock milliseconds; default `Date.now()` at creation plus the monotonic clock since. */
  clock?: () => number;
}

/**
 * Wraps any transport and reports every transfer's submission and completion
 * (bulk stages, Get Max LUN, Bulk-Only reset, clear halt, port reset) to its
 * listeners: the source of pcap captures (`PcapWriter`) and transcripts
 * (`TranscriptRecorder`). It changes nothing on the wire.
 *
 * @example
 * const recording = new RecordingTransport(transport);
 * const pcap = new PcapWriter(sink, { info: recording.info });
 * recording.on((event) => pcap.record(event));
 * const device = await MscDevice.open(recording);
 */
export class RecordingTransport implements MscTransport {
  readonly inner: MscTransport;
  readonly info: TransportInfo;
  readonly concurrentPipes: boolean;
  /** The inner transport's: `into` goes to it as given. */
  readonly writesIntoDirectly: boolean;
  readonly portReset?: (options: TransferOptions) => Promise<void>;
  #listeners = new Set<UrbListener>();
  #nextId = 1;
  #clock: () => number;

  constructor(inner: MscTransport, options: RecordingTransportOptions = {}) {
    this.inner = inner;
    this.info = inner.info;
    this.concurrentPipes = inner.concurrentPipes === true;
    this.writesIntoDirectly = inner.writesIntoDirectly === true;
    if (options.clock !== undefined) this.#clock = options.clock;
    else {
      const epoch = Date.now();
      const start = now();
      this.#clock = () => epoch + (now() - start);
    }
    const innerReset = inner.portReset;
    if (innerReset !== undefined) {
      this.portReset = (o) =>
        this.#run({ kind: 'port-reset' }, 'none', 0, 0, undefined, undefined, o.signal, async () => {
          await innerReset.call(inner, o);
          return { status: 'ok', length: 0 };
        });
    }
  }

  /** Adds a listener; returns the function that removes it. */
  on(listener: UrbListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: UrbEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A faulty recorder must never break a transfer.
      }
    }
  }

  async #run<T>(
    operation: UrbOperation,
    transfer: UrbBase['transfer'],
    endpoint: number,
    length: number,
    setup: Uint8Array | undefined,
    data: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    call: () => Promise<{ status: 'ok' | 'stall' | 'babble'; length: number; data?: Uint8Array; result?: T }>,
  ): Promise<T> {
    const id = this.#nextId++;
    const base = { id, operation, transfer, endpoint, ...(setup === undefined ? {} : { setup }) };
    this.#emit({ ...base, phase: 'submit', time: this.#clock(), length, ...(data === undefined ? {} : { data }) });
    let outcome: Awaited<ReturnType<typeof call>>;
    try {
      outcome = await call();
    } catch (error) {
      this.#emit({
        ...base,
        phase: 'complete',
        time: this.#clock(),
        status: statusOfError(error, signal),
        length: 0,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    this.#emit({
      ...base,
      phase: 'complete',
      time: this.#clock(),
      status: outcome.status,
      length: outcome.length,
      ...(outcome.data === undefined ? {} : { data: outcome.data }),
    });
    return outcome.result as T;
  }

  bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    return this.#run({ kind: 'bulk-out' }, 'bulk', endpointOutOf(this.info), data.length, undefined, data, options.signal, async () => {
      const result = await this.inner.bulkOut(data, options);
      return { status: result.status, length: result.bytesWritten, result };
    });
  }

  bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    return this.#run({ kind: 'bulk-in', requested: length }, 'bulk', endpointInOf(this.info), length, undefined, undefined, options.signal, async () => {
      const result = await this.inner.bulkIn(length, options);
      return { status: result.status, length: result.data.length, data: result.data, result };
    });
  }

  clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    const target = pipe === 'in' ? endpointInOf(this.info) : endpointOutOf(this.info);
    return this.#run({ kind: 'clear-halt', pipe }, 'control', 0x00, 0, clearHaltSetup(target), undefined, options.signal, async () => {
      await this.inner.clearHalt(pipe, options);
      return { status: 'ok', length: 0 };
    });
  }

  classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    const isIn = request.request === 'get-max-lun';
    const setup = classRequestSetup(request.request, this.info.interfaceNumber ?? 0);
    return this.#run({ kind: 'class', request: request.request }, 'control', isIn ? 0x80 : 0x00, isIn ? 1 : 0, setup, undefined, options.signal, async () => {
      const result = await this.inner.classRequest(request, options);
      return { status: result.status, length: result.data.length, ...(isIn ? { data: result.data } : {}), result };
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  onDisconnect(listener: () => void): () => void {
    return this.inner.onDisconnect(listener);
  }
}
