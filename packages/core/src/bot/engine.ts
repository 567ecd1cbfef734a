// The Bulk-Only engine (BOT 1.0 §5, §6): one command as CBW -> data -> CSW, the stage retries, and every recovery decision (§5.3, §6.7).
import {
  AbortError,
  DeviceFailedError,
  DisconnectedError,
  InvalidArgumentError,
  InvalidCswError,
  TimeoutError,
  TransportError,
  UsbmsError,
} from '../errors.js';
import { checkTimeout } from '../timer.js';
import type { RecoveryStep, Tracer } from '../trace.js';
import { now } from '../trace.js';
import { type BulkInResult, type BulkOutResult, endedInFull, type MscTransport, type TransferOptions } from '../transport.js';
import { abortReason } from './abort.js';
import { BotFault } from './fault.js';
import { validateCommand, writeCbw } from './request.js';
import { resetRecovery } from './reset-recovery.js';
import { CswInterpreter, u32le } from './status.js';
import { SignalLink, settled, transferOptions, transferTimeout } from './transfers.js';
import { CBW_LENGTH, CSW_LENGTH, CswOffset } from './wire.js';

/** One BOT command: CBW -> optional data stage -> CSW. */
export interface BotCommandRequest {
  /** Logical unit, 0-15 (BOT 1.0 §5.1 bCBWLUN). */
  lun: number;
  /** The CDB, 1-16 bytes. */
  cdb: Uint8Array;
  /** Data stage direction from the host's point of view. */
  direction: 'none' | 'in' | 'out';
  /** dCBWDataTransferLength: bytes expected in ('in') or sent ('out'); 0 for 'none'. */
  length: number;
  /** Data-out bytes; `data.length` must equal `length`. */
  data?: Uint8Array;
  /** Optional buffer (at least `length` bytes) that receives the data-in bytes. */
  into?: Uint8Array;
  /**
   * Time limit for the whole exchange (CBW, data and CSW), in ms; `Infinity`
   * for none. Each transfer gets what is left of it, at most 2^31-1 ms
   * (`MAX_TIMER_MS`, about 24.8 days, the most a platform timer holds).
   */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Id used in trace events (the device layer's command id); defaults to the CBW tag. */
  traceId?: number;
}

/** Outcome of one CBW / data / CSW exchange that ended with a valid CSW. */
export interface BotCommandResult {
  /** bCSWStatus 0 -> 'passed', 1 -> 'failed' (the caller then asks REQUEST SENSE). */
  status: 'passed' | 'failed';
  /**
   * Bytes of `length` not transferred: the larger of what the host observed and
   * what the device reported, clamped to `length` (as Linux usb-storage does).
   */
  residue: number;
  /** Data-in bytes that are valid: `length - residue` bytes. Empty for 'none'/'out'. */
  data: Uint8Array;
  /** The raw dCSWDataResidue, present only when it differs from `residue` (clamped, ignored or overridden). */
  deviceResidue?: number;
  /** True when the device sent more data than requested (babble); `data` holds what fit. Treat the data with suspicion. */
  babble?: boolean;
  /** True when the device skipped the data stage and sent its CSW in its place. */
  dataPhaseSkipped?: boolean;
}

/** The subset of quirks the transport layer itself acts on (see quirks.ts for the full set). */
export interface BotQuirks {
  /** Ignore dCSWDataResidue entirely; only what was actually transferred counts. */
  ignoreResidue?: boolean;
  /** Do not check that dCSWTag matches dCBWTag. */
  ignoreTag?: boolean;
  /** Do not send Get Max LUN; the device has one LUN. */
  singleLun?: boolean;
}

/** Options of `new BotEngine(transport, options)`. */
export interface BotEngineOptions {
  quirks?: BotQuirks;
  /** BOT 1.0 §6.3.2 to the letter: a residue larger than the request is not meaningful -> reset recovery. */
  strictResidue?: boolean;
  tracer?: Tracer;
  /** Time limit for each reset-recovery request (class reset, clear halt, port reset). Default 5000 ms. */
  recoveryTimeoutMs?: number;
  /**
   * Learn a non-standard CSW signature from the first valid CSW, as Linux does
   * for devices that answer with e.g. "USBU". Default true.
   */
  learnCswSignature?: boolean;
  /**
   * For commands without a data-in stage, submit the status read right after
   * the CBW when the transport has `concurrentPipes` (default true): the CSW is
   * then read as soon as the device sends it, without a host round trip after
   * the CBW or the data-out. A device that STALLs an IN token arriving before
   * its CSW is ready (QEMU's usb-storage does) is recovered as a status-stage
   * stall (clear halt, read again: BOT 1.0 §6.7.2) and the engine stops doing
   * it for that device.
   */
  earlyStatus?: boolean;
  /** Told when reset recovery failed (DeviceFailedError, BOT 1.0 §5.3.4) or the device is gone (DisconnectedError), as thrown; the engine keeps no failure state (device-state.ts decides). */
  onFailure?: (error: DeviceFailedError | DisconnectedError) => void;
}

/** Time limit and cancellation of a class request (Get Max LUN) or of reset recovery. */
export interface BotControlOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

const EMPTY = new Uint8Array(0);
const DEFAULT_RECOVERY_TIMEOUT_MS = 5000;
const DEFAULT_CONTROL_TIMEOUT_MS = 5000;

/**
 * Bulk-Only Transport (USB MSC BOT 1.0) host engine: runs one command at a
 * time as CBW -> data -> CSW and decides every recovery in one place.
 *
 * Not re-entrant: run commands through `CommandQueue` so exchanges never
 * interleave. A second concurrent call is refused with InvalidArgumentError.
 *
 * @example
 * const bot = new BotEngine(transport);
 * const { status, data } = await bot.command({ lun: 0, cdb: inquiryCdb, direction: 'in', length: 36, timeoutMs: 5000 });
 */
export class BotEngine {
  readonly #transport: MscTransport;
  #quirks: BotQuirks;
  readonly #tracer: Tracer | undefined;
  readonly #recoveryTimeoutMs: number;
  #earlyStatus: boolean;
  /** The transport queues transfers on one pipe (`MscTransport.queuesTransfers`): a data-out follows its CBW at once. */
  readonly #queues: boolean;
  /** Checks each CSW; holds the learned signature and the learned ignore-residue (status.ts). */
  readonly #status: CswInterpreter;

  // Reused for every command: commands are serialized, so one of each suffices.
  readonly #cbw = new Uint8Array(CBW_LENGTH);
  readonly #cbwView = new DataView(this.#cbw.buffer);
  readonly #csw = new Uint8Array(CSW_LENGTH);

  #tag = 0;
  #busy = false;
  /**
   * Tag of the last command abandoned by reset recovery. Some devices (Linux's
   * f_mass_storage gadget, seen under dummy_hcd) still deliver that command's
   * CSW after the reset; it is then discarded once instead of failing the next command.
   */
  #abandonedTag: number | undefined;
  readonly #onFailure: ((error: DeviceFailedError | DisconnectedError) => void) | undefined;
  /** Cancels the early status read of the next command; reused until it fires (creating one costs ~1 µs). */
  #spareEarlyCancel: AbortController | undefined;
  /** The caller's signal forwarded to that controller (transfers.ts). */
  readonly #link = new SignalLink();

  constructor(transport: MscTransport, options: BotEngineOptions = {}) {
    this.#transport = transport;
    this.#quirks = { ...options.quirks };
    this.#onFailure = options.onFailure;
    this.#status = new CswInterpreter(options.strictResidue ?? false, options.learnCswSignature ?? true);
    this.#tracer = options.tracer;
    if (options.recoveryTimeoutMs !== undefined) checkTimeout('recoveryTimeoutMs', options.recoveryTimeoutMs);
    this.#recoveryTimeoutMs = transferTimeout(options.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS);
    this.#earlyStatus = (options.earlyStatus ?? true) && transport.concurrentPipes === true;
    this.#queues = transport.queuesTransfers === true;
  }

  /**
   * True while the status read of a command without data-in is submitted
   * together with its CBW (see `BotEngineOptions.earlyStatus`); false once the
   * device stalled such a read.
   */
  get earlyStatus(): boolean {
    return this.#earlyStatus;
  }

  /** The CSW signature in use (learned from the first CSW), if one has been seen. */
  get cswSignature(): number | undefined {
    return this.#status.signature;
  }

  /** True when residues are ignored (quirk, or learned from bogus residues). */
  get ignoresResidue(): boolean {
    return this.#status.ignoresResidue(this.#quirks);
  }

  /** The BOT quirks in use: a copy of what was passed, replaced only by {@link BotEngine.useQuirks}. */
  get quirks(): Readonly<BotQuirks> {
    return this.#quirks;
  }

  /** Replaces the BOT quirks (copied) from the next command on, e.g. once INQUIRY refined the match. */
  useQuirks(quirks: BotQuirks): void {
    this.#quirks = { ...quirks };
  }

  /**
   * Runs one command. Resolves for CSW status passed/failed; throws
   * PhaseError / InvalidCswError / TransportError after reset recovery,
   * AbortError / TimeoutError after the transfer stopped and reset recovery ran,
   * DeviceFailedError when recovery failed, DisconnectedError when the device vanished
   * (both also told to `onFailure`; the engine itself does not refuse later commands).
   */
  async command(req: BotCommandRequest): Promise<BotCommandResult> {
    validateCommand(req);
    if (this.#busy) {
      throw new InvalidArgumentError('BotEngine.command() called while another command is in flight; run commands through CommandQueue');
    }
    if (req.signal?.aborted) throw abortReason(req.signal); // nothing sent yet: nothing to recover
    this.#busy = true;
    try {
      return await this.#exchange(req);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Get Max LUN (BOT 1.0 §3.2). A stall, a short reply, a value above 15 or a
   * failed request means a single LUN (0), as Linux usb-storage treats it.
   */
  async getMaxLun(options: BotControlOptions = {}): Promise<number> {
    if (this.#quirks.singleLun) return 0;
    if (options.timeoutMs !== undefined) checkTimeout('Get Max LUN timeoutMs', options.timeoutMs);
    if (options.signal?.aborted) throw abortReason(options.signal);
    try {
      const result = await this.#transport.classRequest(
        { request: 'get-max-lun' },
        transferOptions(transferTimeout(options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS), options.signal),
      );
      if (result.status !== 'ok' || result.data.length < 1) return 0;
      const maxLun = result.data[0] ?? 0;
      return maxLun <= 15 ? maxLun : 0;
    } catch (error) {
      if (error instanceof DisconnectedError) {
        this.#onFailure?.(error);
        throw error;
      }
      if (error instanceof AbortError) throw options.signal?.aborted ? abortReason(options.signal) : error;
      // Devices that do not support multiple LUNs may fail the request in odd ways.
      return 0;
    }
  }

  /**
   * Reset recovery (BOT 1.0 §5.3.4): Bulk-Only Mass Storage Reset, then
   * Clear Feature HALT on bulk-in and bulk-out; a port reset when the class
   * reset fails and the transport offers one. Throws DeviceFailedError or DisconnectedError (told to
   * `onFailure` as well).
   */
  async resetRecovery(options: BotControlOptions & { traceId?: number } = {}): Promise<void> {
    if (this.#busy) throw new InvalidArgumentError('resetRecovery() called while a command is in flight; run it through CommandQueue');
    if (options.timeoutMs !== undefined) checkTimeout('reset recovery timeoutMs', options.timeoutMs);
    // Once started, recovery is not interruptible: stopping half-way would leave the device in an unknown state.
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.#busy = true;
    try {
      await this.#recover(options.traceId ?? 0, 'requested by the caller', options.timeoutMs === undefined ? undefined : transferTimeout(options.timeoutMs));
    } finally {
      this.#busy = false;
    }
  }

  async #exchange(req: BotCommandRequest): Promise<BotCommandResult> {
    this.#tag = this.#tag >= 0xffffffff ? 1 : this.#tag + 1;
    const tag = this.#tag;
    const id = req.traceId ?? tag;
    const deadline = now() + req.timeoutMs;
    const tracer = this.#tracer?.active ? this.#tracer : undefined;
    let early: Promise<BulkInResult> | undefined;
    // With MscTransport.queuesTransfers: the data-out queued behind the CBW, and the stages the
    // transport submits the moment the one before ended in full (TransferOptions.chained).
    let queuedOut: Promise<BulkOutResult> | undefined;
    let chainedIn: Promise<BulkInResult> | undefined;
    let chainedStatus: Promise<BulkInResult> | undefined;
    // The transfers submitted ahead of their turn share a signal, so a failed CBW or data stage can
    // cancel them (the device may never answer them); the caller's signal is forwarded to it.
    let earlyCancel: AbortController | undefined;
    try {
      // --- Command transport (BOT 1.0 §5.1, §6.2) ---
      writeCbw(this.#cbwView, tag, req);
      if (tracer) tracer.emit({ type: 'cbw', id, tag, bytes: this.#cbw.slice(), time: now() });
      const cbwOptions = this.#stageOptions(req, deadline);
      const sending = this.#transport.bulkOut(this.#cbw, cbwOptions);
      // No data-in read goes ahead of the CBW or of the data stage, as Linux's usb-storage: QEMU's
      // usb-storage stalls an IN token that comes before the CBW (indistinguishable from a data
      // stall, §6.7.2), its xHCI never runs a status read queued behind an asynchronous data-in,
      // and on EHCI it aborted on one (dev-storage.c's residue assertion). Chained, each IN stage
      // is submitted only once the stage before it ended, like Linux, but without a round trip here.
      const dataIn = req.direction === 'in' && req.length > 0;
      const queueOut = req.direction === 'out' && req.length > 0 && this.#queues;
      const statusEarly = this.#earlyStatus && !dataIn;
      if (queueOut || statusEarly || this.#queues) {
        // The IN pipe is idle until the CSW: ask for it now; the device NAKs until it is ready.
        // Same options as the CBW, so nothing can throw between submitting them.
        let cancel = this.#spareEarlyCancel;
        this.#spareEarlyCancel = undefined;
        if (cancel === undefined || cancel.signal.aborted) cancel = new AbortController();
        earlyCancel = cancel;
        this.#link.forward(req.signal, cancel);
        const ahead = { timeoutMs: cbwOptions.timeoutMs, signal: cancel.signal };
        const chained = { ...ahead, chained: true };
        // BOT 1.0 §5: CBW, then the data stage, then the CSW, each after the other on its pipe.
        if (queueOut) queuedOut = this.#transport.bulkOut(req.data ?? EMPTY, ahead);
        if (statusEarly) early = this.#transport.bulkIn(CSW_LENGTH, { ...ahead, into: this.#csw });
        else if (this.#queues) {
          if (dataIn) chainedIn = this.#transport.bulkIn(req.length, req.into === undefined ? chained : { ...chained, into: req.into });
          chainedStatus = this.#transport.bulkIn(CSW_LENGTH, { ...chained, into: this.#csw });
        }
        // Each is read (or waited for) below, on every path.
        queuedOut?.catch(() => undefined);
        early?.catch(() => undefined);
        chainedIn?.catch(() => undefined);
        chainedStatus?.catch(() => undefined);
      }
      const sent = await sending;
      if (sent.status === 'stall') {
        // §6.6.1: a device stalls a CBW it finds not valid or not meaningful.
        throw new BotFault(new TransportError('The device stalled the CBW (it rejected the command wrapper); the device was reset', { details: { tag } }));
      }
      if (sent.bytesWritten !== CBW_LENGTH) {
        throw new BotFault(new TransportError(`Only ${sent.bytesWritten} of ${CBW_LENGTH} CBW bytes were sent; the device was reset`));
      }

      // --- Data transport (BOT 1.0 §6.7) ---
      const requested = req.direction === 'none' ? 0 : req.length;
      let transferred = 0;
      let data: Uint8Array = EMPTY;
      let babble = false;
      let csw: Uint8Array | undefined;
      let skipped = false;
      if (requested > 0 && req.direction === 'in') {
        const start = tracer ? now() : 0;
        const into = req.into;
        let r = chainedIn === undefined ? await this.#transport.bulkIn(requested, this.#stageOptions(req, deadline, into)) : await chainedIn;
        if (chainedStatus !== undefined && !endedInFull('in', requested, r.status === 'ok', r.data.length)) {
          // Not submitted: the status stage goes the usual way below.
          await settled(chainedStatus);
          chainedStatus = undefined;
        }
        if (this.#isAbandonedCsw(r.status, r.data, requested)) {
          // The abandoned command's CSW came first; this command's data follows it.
          this.#traceRecovery(id, 'retry-csw', true, 'discarded the CSW of the command abandoned by the last reset');
          r = await this.#transport.bulkIn(requested, this.#stageOptions(req, deadline, into));
        }
        data = r.data.length > requested ? r.data.subarray(0, requested) : r.data; // never trust a platform to bound it
        if (into !== undefined && data.length > 0 && (data.buffer !== into.buffer || data.byteOffset !== into.byteOffset)) {
          into.set(data);
          data = into.subarray(0, data.length);
        }
        if (tracer)
          tracer.emit({ type: 'data', id, direction: 'in', requested, actual: data.length, status: r.status, time: now(), durationMs: now() - start });
        // Bytes that arrived before a stall are valid data (the stall ends the transfer).
        transferred = data.length;
        if (r.status === 'stall') {
          // §6.7.2 (Hi > Dn, Hi <> Do) and §6.7.3: clear the halt, then read the CSW.
          await this.#clearHalt('in', id, this.#stageOptions(req, deadline));
        } else {
          if (r.status === 'babble') babble = true;
          if (r.status === 'ok' && transferred === CSW_LENGTH && requested > CSW_LENGTH && this.#status.looksLikeOurCsw(data, tag)) {
            // The device skipped the data stage and sent its CSW instead (Linux: "Device skipped data phase").
            csw = data;
            skipped = true;
            transferred = 0;
            data = EMPTY;
          }
        }
      } else if (requested > 0 && req.direction === 'out') {
        const start = tracer ? now() : 0;
        const r = await (queuedOut ?? this.#transport.bulkOut(req.data ?? EMPTY, this.#stageOptions(req, deadline)));
        if (chainedStatus !== undefined && !endedInFull('out', requested, r.status === 'ok', r.bytesWritten)) {
          await settled(chainedStatus);
          chainedStatus = undefined;
        }
        transferred = Math.min(Math.max(r.bytesWritten, 0), requested);
        if (tracer)
          tracer.emit({ type: 'data', id, direction: 'out', requested, actual: transferred, status: r.status, time: now(), durationMs: now() - start });
        if (r.status === 'stall') {
          // §6.7.3 (Ho > Dn, Ho <> Di, Ho > Do): clear the halt on bulk-out, then read the CSW.
          await this.#clearHalt('out', id, this.#stageOptions(req, deadline));
        }
      }

      // --- Status transport (BOT 1.0 §5.2, §6.3) ---
      if (csw === undefined) {
        const start = tracer ? now() : 0;
        csw = await this.#readCsw(req, deadline, id, tag, early ?? chainedStatus, early === undefined);
        if (tracer) this.#traceCsw(tracer, id, csw, start);
      } else if (tracer) {
        this.#traceCsw(tracer, id, csw, now());
      }
      const verdict = this.#status.interpret(csw, { tag, cdb: req.cdb, direction: req.direction, requested, transferred }, this.#quirks);
      const { residue, deviceResidue } = verdict;
      if (req.direction === 'in' && data.length > requested - residue) data = data.subarray(0, requested - residue);
      const result: BotCommandResult = { status: verdict.status, residue, data };
      if (deviceResidue !== residue && !skipped) result.deviceResidue = deviceResidue;
      if (babble) result.babble = true;
      if (skipped) result.dataPhaseSkipped = true;
      this.#abandonedTag = undefined;
      return result;
    } catch (thrown) {
      // Its CSW may still be on its way: remember the tag so the next command can drop it.
      this.#abandonedTag = tag;
      if (earlyCancel !== undefined) {
        // A transfer submitted ahead of its turn (the status read, a queued data stage) still
        // pending holds its pipe, and after a stalled CBW or a failed data stage the device may
        // never answer it: cancel it (MscTransport contract: it settles once no longer pending),
        // so the real error is reported at once and reset recovery (BOT 1.0 §5.3.4) starts on
        // idle pipes.
        earlyCancel.abort(new AbortError('The transfers queued ahead were cancelled: the command failed before its status stage'));
        earlyCancel = undefined;
        for (const ahead of [queuedOut, early, chainedIn, chainedStatus]) if (ahead !== undefined) await settled(ahead);
      }
      throw await this.#fail(thrown, req, id);
    } finally {
      // A signal that never fired can serve the next command (transports drop their listener once a
      // transfer settles), and so can its link to the caller's signal; a fired one cannot.
      if (earlyCancel !== undefined && !earlyCancel.signal.aborted) this.#spareEarlyCancel = earlyCancel;
      else this.#link.dropIfFired();
    }
  }

  /** Options for the next transfer of a command: the remaining time, or a TimeoutError if none is left. */
  #stageOptions(req: BotCommandRequest, deadline: number, into?: Uint8Array): TransferOptions & { into?: Uint8Array } {
    if (req.signal?.aborted) throw abortReason(req.signal);
    const remaining = Math.ceil(deadline - now());
    if (remaining <= 0) throw new TimeoutError(`The command did not finish within ${req.timeoutMs} ms; the device was reset`);
    const options: TransferOptions & { into?: Uint8Array } = transferOptions(transferTimeout(remaining), req.signal);
    if (into !== undefined) options.into = into;
    return options;
  }

  async #clearHalt(pipe: 'in' | 'out', id: number, options: TransferOptions): Promise<void> {
    await this.#transport.clearHalt(pipe, options);
    if (this.#tracer?.active)
      this.#tracer.emit({
        type: 'recovery',
        id,
        step: pipe === 'in' ? 'clear-halt-in' : 'clear-halt-out',
        ok: true,
        detail: 'data stage stalled',
        time: now(),
      });
  }

  /**
   * Reads the 13-byte CSW: one retry after a stall (§6.7.2), one after a zero-length read (Linux).
   * `early` is a status read already submitted, used as the first read: with the CBW, or (`chained`)
   * by the transport once the stage before it ended, so a stall is the status stage's own (§6.7.2).
   */
  async #readCsw(
    req: BotCommandRequest,
    deadline: number,
    id: number,
    tag: number,
    early: Promise<BulkInResult> | undefined,
    chained: boolean,
  ): Promise<Uint8Array> {
    let stallRetried = false;
    let zeroRetried = false;
    let staleDropped = false;
    let first = early;
    for (;;) {
      let r: BulkInResult;
      if (first !== undefined) {
        r = await first;
        first = undefined;
        if (r.status === 'stall' && !chained) {
          // The device stalled an IN token that came before its CSW was ready instead of
          // NAKing it (QEMU's usb-storage does). Recover it as a status-stage stall and read
          // the status only after the data stage from now on.
          this.#earlyStatus = false;
          await this.#transport.clearHalt('in', this.#stageOptions(req, deadline));
          this.#traceRecovery(id, 'clear-halt-in', true, 'the status read sent with the CBW was stalled; status is read after the data stage from now on');
          continue;
        }
      } else {
        r = await this.#transport.bulkIn(CSW_LENGTH, this.#stageOptions(req, deadline, this.#csw));
      }
      if (r.status === 'stall') {
        if (stallRetried)
          throw new BotFault(new InvalidCswError('The device stalled the status stage twice and sent no CSW (BOT 1.0 §6.7.2); the device was reset'));
        stallRetried = true;
        await this.#transport.clearHalt('in', this.#stageOptions(req, deadline));
        this.#traceRecovery(id, 'clear-halt-in', true, 'CSW read stalled');
        this.#traceRecovery(id, 'retry-csw', true, 'after stall');
        continue;
      }
      if (r.status === 'babble') {
        throw new BotFault(
          new InvalidCswError(
            `The device sent more than ${CSW_LENGTH} bytes in the status stage, so the CSW is not valid (BOT 1.0 §6.3.1); the device was reset`,
          ),
        );
      }
      if (r.data.length === 0) {
        // Some devices send a stray zero-length packet after the data; the CSW follows.
        if (zeroRetried)
          throw new BotFault(new InvalidCswError('The device answered the status stage twice with a zero-length packet (no CSW); the device was reset'));
        zeroRetried = true;
        this.#traceRecovery(id, 'retry-csw', true, 'zero-length CSW');
        continue;
      }
      if (r.data.length !== CSW_LENGTH) {
        throw new BotFault(
          new InvalidCswError(`The CSW is ${r.data.length} bytes instead of ${CSW_LENGTH}, so it is not valid (BOT 1.0 §6.3.1); the device was reset`),
        );
      }
      if (!staleDropped && this.#abandonedTag !== undefined && this.#abandonedTag !== tag && u32le(r.data, CswOffset.tag) === this.#abandonedTag) {
        staleDropped = true;
        this.#traceRecovery(id, 'retry-csw', true, 'discarded the CSW of the command abandoned by the last reset');
        continue;
      }
      return r.data;
    }
  }

  /** A 13-byte data-in that is really the CSW of the command the last reset abandoned. */
  #isAbandonedCsw(status: string, bytes: Uint8Array, requested: number): boolean {
    const stale = this.#abandonedTag;
    return stale !== undefined && status === 'ok' && bytes.length === CSW_LENGTH && requested !== CSW_LENGTH && this.#status.looksLikeOurCsw(bytes, stale);
  }

  #traceCsw(tracer: Tracer, id: number, csw: Uint8Array, start: number): void {
    const t = now();
    tracer.emit({
      type: 'csw',
      id,
      tag: u32le(csw, CswOffset.tag),
      status: csw[CswOffset.status] ?? 0,
      residue: u32le(csw, CswOffset.residue),
      bytes: csw.slice(0, CSW_LENGTH),
      time: t,
      durationMs: t - start,
    });
  }

  #traceRecovery(id: number, step: RecoveryStep, ok: boolean, detail: string): void {
    if (this.#tracer?.active) this.#tracer.emit({ type: 'recovery', id, step, ok, detail, time: now() });
  }

  /**
   * Decides what a failed exchange means, runs reset recovery when the
   * device's state is unknown, and returns the error to throw.
   */
  async #fail(thrown: unknown, req: BotCommandRequest, id: number): Promise<UsbmsError> {
    let error: UsbmsError;
    if (thrown instanceof BotFault) error = thrown.error;
    else if (thrown instanceof UsbmsError) error = thrown;
    else error = new TransportError(`Unexpected transport failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`, { cause: thrown });

    // The signal's reason is the authoritative error (e.g. the queue's TimeoutError).
    if (error instanceof AbortError && req.signal?.aborted) error = abortReason(req.signal);
    if (error instanceof DisconnectedError) {
      this.#onFailure?.(error);
      return error; // nothing to recover on a device that is gone
    }
    if (error instanceof InvalidArgumentError) return error; // refused before the device saw anything

    // Everything else leaves the device in an unknown state: BOT 1.0 §5.3.4.
    try {
      await this.#recover(id, error.message);
    } catch (recoveryError) {
      if (recoveryError instanceof DisconnectedError) return recoveryError;
      if (recoveryError instanceof DeviceFailedError) return recoveryError; // told to onFailure by resetRecovery
      const failed = new DeviceFailedError(String(recoveryError), { cause: recoveryError });
      this.#onFailure?.(failed);
      return failed;
    }
    return error;
  }

  /** Reset recovery (BOT 1.0 §5.3.4, reset-recovery.ts): one class reset + two clear halts, else one port reset. */
  #recover(id: number, reason: string, timeoutMs = this.#recoveryTimeoutMs): Promise<void> {
    return resetRecovery(this.#transport, {
      timeoutMs,
      reason,
      trace: (step, ok, detail) => this.#traceRecovery(id, step, ok, detail),
      onFailure: this.#onFailure,
    });
  }
}
