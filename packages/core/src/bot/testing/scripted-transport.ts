/**
 * A scripted MscTransport for tests: every bulkIn/bulkOut/clearHalt/class
 * request/port reset is answered from a script, and the exact sequence the
 * host performed is recorded in `calls`. Not part of the public API.
 */
import { AbortError, TimeoutError } from '../../errors.js';
import { Listeners } from '../../listeners.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '../../transport.js';
import { CBW_LENGTH, CBW_SIGNATURE, CSW_SIGNATURE } from '../wrappers.js';

interface Timing {
  /** Reject with this error instead of answering. */
  reject?: Error;
  /** Never answer: settle only when the signal fires (AbortError) or the per-transfer timeout passes (TimeoutError). */
  hang?: boolean;
  /** Answer after this many ms (real time). */
  delayMs?: number;
}

export type Step =
  | ({ op: 'out'; status?: 'ok' | 'stall'; bytesWritten?: number } & Timing)
  | ({ op: 'in'; data?: Uint8Array | ((t: ScriptedTransport) => Uint8Array); status?: 'ok' | 'stall' | 'babble' } & Timing)
  | ({ op: 'clear-in' | 'clear-out' | 'port-reset' } & Timing)
  | ({ op: 'reset' | 'max-lun'; status?: 'ok' | 'stall'; data?: Uint8Array } & Timing);

export interface ScriptedTransportOptions {
  /** Offer portReset(). Default false. */
  portReset?: boolean;
  /** Write bulk-in data into `options.into` when given. Default true. */
  honorInto?: boolean;
  info?: Partial<TransportInfo>;
}

export class ScriptedTransport implements MscTransport {
  readonly info: TransportInfo;
  /** The host's operations in order: 'out:31', 'in:13', 'clear-in', 'reset', ... */
  readonly calls: string[] = [];
  /** Every option object passed, in order (for checking timeouts and signals). */
  readonly options: TransferOptions[] = [];
  /** Copies of every CBW sent. */
  readonly cbws: Uint8Array[] = [];
  /** Script mismatches (a test fails when this is not empty). */
  readonly violations: string[] = [];
  /** Tag of the last CBW sent. */
  lastTag = 0;
  portReset?: (options: TransferOptions) => Promise<void>;
  #script: Step[] = [];
  #honorInto: boolean;
  readonly #disconnectListeners = new Listeners();

  constructor(script: Step[] = [], options: ScriptedTransportOptions = {}) {
    this.#script = [...script];
    this.#honorInto = options.honorInto ?? true;
    this.info = { maxPacketSizeIn: 512, maxPacketSizeOut: 512, ...options.info };
    if (options.portReset) {
      this.portReset = async (o) => {
        const step = this.#take('port-reset', 'port-reset', o);
        await this.#settle(step, o);
      };
    }
  }

  /** Appends steps to the script. */
  script(...steps: Step[]): this {
    this.#script.push(...steps);
    return this;
  }

  get remaining(): number {
    return this.#script.length;
  }

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    const step = this.#take('out', `out:${data.length}`, options);
    if (data.length === CBW_LENGTH && new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) === CBW_SIGNATURE) {
      this.lastTag = new DataView(data.buffer, data.byteOffset + 4, 4).getUint32(0, true);
      this.cbws.push(data.slice());
    }
    await this.#settle(step, options);
    const s = step?.op === 'out' ? step : undefined;
    return { status: s?.status ?? 'ok', bytesWritten: s?.bytesWritten ?? (s?.status === 'stall' ? 0 : data.length) };
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    const step = this.#take('in', `in:${length}`, options);
    await this.#settle(step, options);
    const s = step?.op === 'in' ? step : undefined;
    const raw = typeof s?.data === 'function' ? s.data(this) : (s?.data ?? new Uint8Array(0));
    const status = s?.status ?? 'ok';
    // A real platform never returns more than requested; babble keeps what fit.
    const fitted = raw.length > length ? raw.subarray(0, length) : raw;
    if (this.#honorInto && options.into) {
      options.into.set(fitted);
      return { status, data: options.into.subarray(0, fitted.length) };
    }
    return { status, data: fitted.slice() };
  }

  async clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    const step = this.#take(pipe === 'in' ? 'clear-in' : 'clear-out', pipe === 'in' ? 'clear-in' : 'clear-out', options);
    await this.#settle(step, options);
  }

  async classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    const op = request.request === 'bulk-only-reset' ? 'reset' : 'max-lun';
    const step = this.#take(op, op, options);
    await this.#settle(step, options);
    const s = step?.op === 'reset' || step?.op === 'max-lun' ? step : undefined;
    return { status: s?.status ?? 'ok', data: s?.data ?? new Uint8Array(0) };
  }

  async close(): Promise<void> {}

  onDisconnect(listener: () => void): () => void {
    return this.#disconnectListeners.add(listener);
  }

  /** Fires the disconnect listeners. */
  disconnect(): void {
    this.#disconnectListeners.emit();
  }

  #take(op: Step['op'], call: string, options: TransferOptions): Step | undefined {
    this.calls.push(call);
    this.options.push(options);
    const step = this.#script.shift();
    if (step === undefined) {
      this.violations.push(`unexpected ${call}: script exhausted`);
      throw new Error(`script violation: unexpected ${call}`);
    }
    if (step.op !== op) {
      this.violations.push(`expected ${step.op}, host did ${call}`);
      throw new Error(`script violation: expected ${step.op}, host did ${call}`);
    }
    return step;
  }

  async #settle(step: Step | undefined, options: TransferOptions): Promise<void> {
    if (step === undefined) return;
    if (step.hang) {
      await new Promise<void>((_resolve, reject) => {
        const timer = setTimeout(() => reject(new TimeoutError(`transfer timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(new AbortError('transfer aborted'));
          },
          { once: true },
        );
      });
    }
    if (step.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    if (step.reject) throw step.reject;
  }
}

/** Bytes of a CSW. `tag` defaults to the transport's last CBW tag at the time it is read. */
export function cswBytes(fields: { tag: number; residue?: number; status?: number; signature?: number }): Uint8Array {
  const bytes = new Uint8Array(13);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, fields.signature ?? CSW_SIGNATURE, true);
  view.setUint32(4, fields.tag >>> 0, true);
  view.setUint32(8, (fields.residue ?? 0) >>> 0, true);
  bytes[12] = fields.status ?? 0;
  return bytes;
}

/** A bulk-in step answering with a CSW for the last CBW (tagDelta shifts the tag). */
export function csw(fields: { residue?: number; status?: number; signature?: number; tagDelta?: number } = {}): Step {
  return { op: 'in', data: (t) => cswBytes({ ...fields, tag: t.lastTag + (fields.tagDelta ?? 0) }) };
}

/** The three requests of reset recovery (BOT 1.0 §5.3.4), all succeeding. */
export const RESET_RECOVERY: readonly Step[] = [{ op: 'reset' }, { op: 'clear-in' }, { op: 'clear-out' }];
