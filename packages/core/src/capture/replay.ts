import { AbortError, DisconnectedError, ReplayMismatchError, TimeoutError, TransportError } from '../errors.js';
import { opcodeName } from '../scsi/opcodes.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '../transport.js';
import { isCbw, isCsw } from './pcap.js';
import { formatStep, parseTranscript, type Transcript, type TranscriptRequest, type TranscriptStep, toHex } from './transcript.js';

/** dCBWTag / dCSWTag: bytes 4-7 of both wrappers (BOT 1.0 §5.1, §5.2). */
const TAG_OFFSET = 4;
/** CBWCB starts at byte 15 of the CBW (BOT 1.0 §5.1). */
const CDB_OFFSET = 15;

function tagOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(TAG_OFFSET, true);
}

function withTag(bytes: Uint8Array, tag: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(TAG_OFFSET, tag, true);
  return copy;
}

function commandName(cbw: Uint8Array): string {
  const opcode = cbw[CDB_OFFSET] ?? 0;
  return `${opcodeName(opcode)} (opcode 0x${opcode.toString(16).padStart(2, '0')})`;
}

/** Hex around `offset`, the byte at `offset` in brackets. */
function window(bytes: Uint8Array, offset: number): string {
  const from = Math.max(0, offset - 8);
  const to = Math.min(bytes.length, offset + 9);
  const parts: string[] = [];
  for (let i = from; i < to; i++) {
    const b = (bytes[i] ?? 0).toString(16).padStart(2, '0');
    parts.push(i === offset ? `[${b}]` : b);
  }
  if (offset >= bytes.length) parts.push('[end]');
  return `${from > 0 ? '... ' : ''}${parts.join(' ')}${to < bytes.length ? ' ...' : ''}`;
}

function describeCall(request: TranscriptRequest): string {
  switch (request.kind) {
    case 'out':
      return isCbw(request.data) ? `a CBW for ${commandName(request.data)}` : `bulk OUT of ${request.data.length} bytes`;
    case 'in':
      return `bulk IN of ${request.length} bytes`;
    case 'ctrl':
      return `control request ${request.request}`;
    case 'clear-halt':
      return `CLEAR_FEATURE(ENDPOINT_HALT) on bulk-${request.pipe}`;
    case 'port-reset':
      return 'a port reset';
  }
}

/**
 * Plays a transcript back as a transport: each call must match the next
 * stage of the transcript, and gets the recorded answer. CBW tags are
 * normalised: the host's tags may differ from the recording's; the CSWs
 * returned carry the host's tag. The first call that differs rejects with a
 * `ReplayMismatchError` whose message names the command (opcode), the byte
 * offset and both byte strings; every later call rejects with the same error
 * (the host's recovery cannot walk past it), and `assertFinished()` throws it.
 *
 * @example
 * const replay = new ReplayTransport(readFileSync('inquiry.transcript', 'utf8'));
 * const device = await MscDevice.open(replay);
 * await device.close();
 * replay.assertFinished(); // every recorded stage was played, none differed
 */
export class ReplayTransport implements MscTransport {
  readonly transcript: Transcript;
  readonly info: TransportInfo;
  readonly concurrentPipes: boolean;
  /** Present when the recorded transport could reset the port (the host's recovery may escalate to it). */
  readonly portReset?: (options: TransferOptions) => Promise<void>;
  #next = 0;
  #failure: ReplayMismatchError | undefined;
  /** Recorded tag -> the host's tag of the same CBW. */
  #tags = new Map<number, number>();
  /** The recorded CBW of the command in progress, and its number (1-based). */
  #command: Uint8Array | undefined;
  #commands = 0;
  #disconnectListeners = new Set<() => void>();
  #closed = false;

  constructor(transcript: Transcript | string) {
    this.transcript = typeof transcript === 'string' ? parseTranscript(transcript) : transcript;
    this.info = this.transcript.info;
    this.concurrentPipes = this.transcript.concurrentPipes;
    if (this.transcript.portReset) this.portReset = (options) => this.#portReset(options);
  }

  /** The first mismatch, if any. */
  get failure(): ReplayMismatchError | undefined {
    return this.#failure;
  }

  /** Stages not played yet. */
  get remaining(): readonly TranscriptStep[] {
    return this.transcript.steps.slice(this.#next);
  }

  /** Throws the first mismatch, or a mismatch naming the first stage the host never asked for. */
  assertFinished(): void {
    if (this.#failure !== undefined) throw this.#failure;
    const next = this.transcript.steps[this.#next];
    if (next !== undefined) {
      throw new ReplayMismatchError(
        `Replay ended early: the host stopped before transcript line ${next.line} (${describeCall(next.request)}; ${this.transcript.steps.length - this.#next} stages left): ${formatStep(next).slice(0, 120)}`,
        { details: { line: next.line } },
      );
    }
  }

  #where(step: TranscriptStep | undefined): string {
    const command = this.#command === undefined ? '' : `, command #${this.#commands} ${commandName(this.#command)}`;
    return step === undefined ? `after the last transcript line${command}` : `at transcript line ${step.line}${command}`;
  }

  #fail(message: string, details: Record<string, unknown>): never {
    this.#failure ??= new ReplayMismatchError(message, { details });
    throw this.#failure;
  }

  /** Takes the next stage; the host's call must be of the same kind. */
  #take(actual: TranscriptRequest): TranscriptStep {
    if (this.#failure !== undefined) throw this.#failure;
    const step = this.transcript.steps[this.#next];
    if (step === undefined) this.#fail(`Replay mismatch ${this.#where(step)}: the host sent ${describeCall(actual)}, the transcript has no more stages`, {});
    const expected = step.request;
    const same =
      expected.kind === actual.kind &&
      (expected.kind !== 'in' || (actual.kind === 'in' && actual.length === expected.length)) &&
      (expected.kind !== 'ctrl' || (actual.kind === 'ctrl' && actual.request === expected.request)) &&
      (expected.kind !== 'clear-halt' || (actual.kind === 'clear-halt' && actual.pipe === expected.pipe));
    if (!same) {
      this.#fail(`Replay mismatch ${this.#where(step)}: the host sent ${describeCall(actual)}, the transcript has ${describeCall(expected)}`, {
        line: step.line,
      });
    }
    this.#next += 1;
    return step;
  }

  /** Settles a recorded failure the way the platform did. */
  async #failAs(step: TranscriptStep, options: TransferOptions): Promise<never> {
    const result = step.result;
    switch (result.status) {
      case 'timeout':
      case 'aborted': {
        // The recording's transfer ended by a time limit or the caller's cancel: end this one the same way,
        // by the host's signal (AbortError) or its time limit (TimeoutError), whichever comes first.
        const signal = options.signal;
        if (signal?.aborted === true) throw new AbortError();
        const byTimer = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve(true);
          }, options.timeoutMs);
          const onAbort = (): void => {
            clearTimeout(timer);
            resolve(false);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
        });
        if (byTimer) throw new TimeoutError(`Transfer timed out after ${options.timeoutMs} ms (transcript line ${step.line})`);
        throw new AbortError();
      }
      case 'disconnected':
        for (const listener of this.#disconnectListeners) listener();
        throw new DisconnectedError();
      case 'error':
        throw new TransportError(result.message);
      default:
        throw new TransportError(`transcript line ${step.line}: unexpected result`);
    }
  }

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    const step = this.#take({ kind: 'out', data });
    const expected = step.request.kind === 'out' ? step.request.data : new Uint8Array(0);
    const bothCbw = isCbw(expected) && isCbw(data);
    if (bothCbw) {
      this.#command = expected;
      this.#commands += 1;
    }
    const length = Math.max(expected.length, data.length);
    for (let i = 0; i < length; i++) {
      if (bothCbw && i >= TAG_OFFSET && i < TAG_OFFSET + 4) continue;
      if (i < expected.length && i < data.length && expected[i] === data[i]) continue;
      const what = bothCbw ? 'CBW' : 'data-out stage';
      const field = bothCbw && i >= CDB_OFFSET ? ` (CDB byte ${i - CDB_OFFSET})` : '';
      const values =
        i >= data.length
          ? `the host's ${data.length} bytes end there, the transcript has ${expected.length}`
          : i >= expected.length
            ? `the host sent ${data.length} bytes, the transcript ${expected.length}`
            : `transcript 0x${(expected[i] ?? 0).toString(16).padStart(2, '0')}, host 0x${(data[i] ?? 0).toString(16).padStart(2, '0')}`;
      const other = bothCbw && expected[CDB_OFFSET] !== data[CDB_OFFSET] ? ` (the host's CBW is for ${commandName(data)})` : '';
      this.#fail(
        `Replay mismatch ${this.#where(step)}: the host's ${what} differs at byte ${i}${field}: ${values}${other}\n` +
          `  transcript: ${window(expected, i)}\n` +
          `  host:       ${window(data, i)}`,
        { line: step.line, offset: i, expected: toHex(expected), actual: toHex(data) },
      );
    }
    if (bothCbw) this.#tags.set(tagOf(expected), tagOf(data));
    const result = step.result;
    if (result.status === 'ok' || result.status === 'stall' || result.status === 'babble') {
      return { status: result.status === 'stall' ? 'stall' : 'ok', bytesWritten: result.bytesWritten ?? (result.status === 'ok' ? data.length : 0) };
    }
    return this.#failAs(step, options);
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    const step = this.#take({ kind: 'in', length });
    const result = step.result;
    if (result.status === 'ok' || result.status === 'stall' || result.status === 'babble') {
      let data = result.data ?? new Uint8Array(0);
      if (isCsw(data)) {
        const hostTag = this.#tags.get(tagOf(data));
        if (hostTag !== undefined) data = withTag(data, hostTag);
      } else data = data.slice();
      if (options.into !== undefined && data.length <= options.into.length) {
        options.into.set(data);
        data = options.into.subarray(0, data.length);
      }
      return { status: result.status, data };
    }
    return this.#failAs(step, options);
  }

  async clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    const step = this.#take({ kind: 'clear-halt', pipe });
    if (step.result.status === 'ok') return;
    if (step.result.status === 'stall') throw new TransportError(`CLEAR_FEATURE(ENDPOINT_HALT) on bulk-${pipe} stalled (transcript line ${step.line})`);
    return this.#failAs(step, options);
  }

  async classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    const step = this.#take({ kind: 'ctrl', request: request.request });
    const result = step.result;
    if (result.status === 'ok' || result.status === 'stall') return { status: result.status, data: (result.data ?? new Uint8Array(0)).slice() };
    return this.#failAs(step, options);
  }

  async #portReset(options: TransferOptions): Promise<void> {
    const step = this.#take({ kind: 'port-reset' });
    if (step.result.status === 'ok') return;
    return this.#failAs(step, options);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }
}
