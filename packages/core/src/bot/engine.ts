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
  withoutStack,
} from '../errors.js';
import { checkTimeout, nextTask } from '../timer.js';
import type { RecoveryStep, Tracer } from '../trace.js';
import { now } from '../trace.js';
import { type BulkInResult, type BulkOutResult, endedInFull, type MscTransport, type TransferOptions } from '../transport.js';
import { abortReason, SpareController } from './abort.js';
import { BotFault } from './fault.js';
import { isNotSubmitted, type Lane, LaneBuffers, MAX_PIPELINE, NOT_RUN, runInOrder, runPipelined } from './pipeline.js';
import { validateCommand, writeCbw } from './request.js';
import { resetRecovery } from './reset-recovery.js';
import { CswInterpreter } from './status.js';
import { SignalLink, settled, transferOptions, transferTimeout } from './transfers.js';
import type { BotCommandRequest, BotCommandResult, BotControlOptions, BotEngineOptions, BotPipelineOutcome, BotQuirks } from './types.js';
import { CBW_LENGTH, CSW_LENGTH, CswOffset, u32le } from './wire.js';

export { MAX_PIPELINE } from './pipeline.js';
export type { BotCommandRequest, BotCommandResult, BotControlOptions, BotEngineOptions, BotPipelineOutcome, BotQuirks } from './types.js';

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

  // Reused for every command (commands are serialized); so are the pipelines' lanes.
  readonly #cbw = new Uint8Array(CBW_LENGTH);
  readonly #cbwView = new DataView(this.#cbw.buffer);
  readonly #csw = new Uint8Array(CSW_LENGTH);
  readonly #laneBuffers = new LaneBuffers();

  #tag = 0;
  #busy = false;
  /**
   * Tag of the last command abandoned by reset recovery. Some devices (Linux's f_mass_storage gadget,
   * seen under dummy_hcd) still deliver that command's CSW after the reset; it is then discarded once.
   */
  #abandonedTag: number | undefined;
  readonly #onFailure: ((error: DeviceFailedError | DisconnectedError) => void) | undefined;
  /** Cancels the early status read of the next command; reused until it fires (creating one costs ~1 µs). */
  readonly #spareEarlyCancel = new SpareController();
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
   * True while the status read of a command without data-in is submitted together with its CBW
   * (see `BotEngineOptions.earlyStatus`); false once the device stalled such a read.
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
  command(req: BotCommandRequest): Promise<BotCommandResult> {
    try {
      validateCommand(req);
      if (this.#busy) {
        throw new InvalidArgumentError('BotEngine.command() called while another command is in flight; run commands through CommandQueue');
      }
      if (req.signal?.aborted) throw abortReason(req.signal); // nothing sent yet: nothing to recover
    } catch (error) {
      return Promise.reject(error);
    }
    this.#busy = true;
    // The exchange clears #busy as it ends (no async wrapper here: a turn fewer per command).
    return this.#exchange(req, undefined, true);
  }

  /**
   * Runs commands in order, as `command()` each, and stops at the first that does not pass in
   * full (failed, residue, babble) or fails: its result or error is returned for the caller to act
   * on, with the results before it. All must share one `signal`. Where the transport queues
   * transfers (`MscTransport.queuesTransfers`) and nothing traces, each next command's stages are
   * handed over at once, chained behind the status read of the one before (`TransferOptions.chainedIf`):
   * its CBW goes from the reaping turn that saw that CSW pass in full, so the device waits for no
   * JavaScript between commands. BOT stays one command at a time (§5): a CBW never goes before
   * the CSW of the command before it, and never after one that did not pass.
   */
  async pipeline(reqs: readonly BotCommandRequest[]): Promise<BotPipelineOutcome> {
    if (reqs.length > MAX_PIPELINE) throw new InvalidArgumentError(`pipeline() takes at most ${MAX_PIPELINE} commands, got ${reqs.length}`);
    for (const req of reqs) validateCommand(req);
    const signal = reqs[0]?.signal;
    if (reqs.some((req) => req.signal !== signal)) throw new InvalidArgumentError('pipeline(): every command must share one signal');
    if (this.#busy) {
      throw new InvalidArgumentError('BotEngine.pipeline() called while another command is in flight; run commands through CommandQueue');
    }
    if (signal?.aborted) throw abortReason(signal);
    this.#busy = true;
    try {
      const exchange = (req: BotCommandRequest, lane?: Lane): Promise<BotCommandResult> => this.#exchange(req, lane);
      if (!this.#queues || reqs.length < 2 || this.#tracer?.active === true) return await runInOrder(reqs, exchange);
      return await runPipelined(
        reqs,
        exchange,
        () => this.#tag,
        (tag) => (csw) => this.#status.passedInFull(csw, tag, this.#quirks),
        this.#laneBuffers,
      );
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

  /** One command's exchange; `alone`: started by `command()`, whose #busy it clears as it ends. */
  async #exchange(req: BotCommandRequest, lane?: Lane, alone = false): Promise<BotCommandResult> {
    this.#tag = this.#tag >= 0xffffffff ? 1 : this.#tag + 1;
    const tag = this.#tag;
    const id = req.traceId ?? tag;
    // A pipelined command starts once the ones before it ended, each within its own limit.
    const started = now();
    const deadline = started + (lane === undefined ? req.timeoutMs : req.timeoutMs * (lane.index + 1));
    let cbwSent = false;
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
      const cbw = lane?.cbw ?? this.#cbw;
      writeCbw(lane?.cbwView ?? this.#cbwView, tag, req);
      if (tracer) tracer.emit({ type: 'cbw', id, tag, bytes: cbw.slice(), time: now() });
      // No data-in read goes ahead of the CBW or of the data stage, as Linux's usb-storage: QEMU's
      // usb-storage stalls an IN token that comes before the CBW (indistinguishable from a data
      // stall, §6.7.2), its xHCI never runs a status read queued behind an asynchronous data-in,
      // and on EHCI it aborted on one (dev-storage.c's residue assertion). Chained, each IN stage
      // is submitted only once the stage before it ended, like Linux, but without a round trip here.
      const dataIn = req.direction === 'in' && req.length > 0;
      const queueOut = req.direction === 'out' && req.length > 0 && this.#queues;
      const statusEarly = this.#earlyStatus && !dataIn && lane === undefined;
      let sending: Promise<BulkOutResult>;
      if (lane !== undefined) {
        // Pipelined (BotEngine.pipeline): every stage chained, the CBW behind the status read of the
        // command before it, sent only if that CSW says it passed in full (BOT 1.0 §5.3, §6.3).
        // Options written out in full: a spread plus a property takes V8's slow path once a site saw several shapes.
        const timeoutMs = transferTimeout(req.timeoutMs);
        const signal = lane.cancel.signal;
        sending = this.#transport.bulkOut(cbw, { timeoutMs, signal, chained: true, chainedIf: lane.gate });
        // The data-out goes with its CBW, queued behind it on the same pipe, as for a single command.
        if (queueOut) queuedOut = this.#transport.bulkOut(req.data ?? EMPTY, { timeoutMs, signal, chained: false, together: true });
        if (dataIn) {
          const into = req.into;
          chainedIn = this.#transport.bulkIn(
            req.length,
            into === undefined ? { timeoutMs, signal, chained: true } : { timeoutMs, signal, chained: true, into },
          );
        }
        chainedStatus = this.#transport.bulkIn(CSW_LENGTH, { timeoutMs, signal, chained: true, into: lane.csw });
        sending.catch(() => undefined);
        queuedOut?.catch(() => undefined);
        chainedIn?.catch(() => undefined);
        chainedStatus.catch(() => undefined);
      } else {
        const cbwOptions = this.#stageOptions(req, deadline, undefined, started);
        sending = this.#transport.bulkOut(cbw, cbwOptions);
        if (queueOut || statusEarly || this.#queues) {
          // The IN pipe is idle until the CSW: ask for it now; the device NAKs until it is ready.
          // Same options as the CBW, so nothing can throw between submitting them.
          const cancel = this.#spareEarlyCancel.take();
          earlyCancel = cancel;
          this.#link.forward(req.signal, cancel);
          const timeoutMs = cbwOptions.timeoutMs;
          const signal = cancel.signal;
          // BOT 1.0 §5: CBW, then the data stage, then the CSW, each after the other on its pipe.
          if (queueOut) queuedOut = this.#transport.bulkOut(req.data ?? EMPTY, { timeoutMs, signal });
          if (statusEarly) early = this.#transport.bulkIn(CSW_LENGTH, { timeoutMs, signal, into: this.#csw });
          else if (this.#queues) {
            const into = req.into;
            if (dataIn)
              chainedIn = this.#transport.bulkIn(
                req.length,
                into === undefined ? { timeoutMs, signal, chained: true } : { timeoutMs, signal, chained: true, into },
              );
            chainedStatus = this.#transport.bulkIn(CSW_LENGTH, { timeoutMs, signal, chained: true, into: this.#csw });
          }
          // Each is read (or waited for) below, on every path.
          queuedOut?.catch(() => undefined);
          early?.catch(() => undefined);
          chainedIn?.catch(() => undefined);
          chainedStatus?.catch(() => undefined);
        }
      }
      const sent = await sending;
      cbwSent = true;
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
        const ahead = early ?? chainedStatus;
        if (ahead === undefined) csw = await this.#readCsw(req, deadline, id, tag, undefined, false);
        else {
          // The usual case at once: a whole CSW at the first read, no abandoned command's CSW to watch for.
          const r = await ahead;
          csw =
            r.status === 'ok' && r.data.length === CSW_LENGTH && this.#abandonedTag === undefined
              ? r.data
              : await this.#readCsw(req, deadline, id, tag, r, early === undefined);
        }
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
      if (lane !== undefined && !cbwSent && isNotSubmitted(thrown)) {
        // Pipelined behind a command that did not pass in full (or an abort before it went): nothing
        // of it reached the device, and whatever was chained to its CBW is never submitted either
        // (TransferOptions.chained), so there is nothing to wait for.
        throw NOT_RUN;
      }
      // Its CSW may still be on its way: remember the tag so the next command can drop it.
      this.#abandonedTag = tag;
      // A transfer submitted ahead of its turn (the status read, a queued data stage; pipelined, the
      // later commands' CBWs too) still pending holds its pipe, and after a stalled CBW or a failed
      // data stage the device may never answer it: cancel it (MscTransport contract: it settles once
      // no longer pending), so the real error is reported at once and reset recovery (BOT 1.0 §5.3.4)
      // starts on idle pipes.
      const cancel = lane?.cancel ?? earlyCancel;
      if (cancel !== undefined) {
        cancel.abort(withoutStack(() => new AbortError('The transfers queued ahead were cancelled: the command failed before its status stage')));
        earlyCancel = undefined;
        // Every stage handed over ahead of its turn, once it is no longer pending (together: most
        // have settled by now, and each await is a turn through the microtasks of a whole job).
        await Promise.allSettled([queuedOut, early, chainedIn, chainedStatus]);
      }
      throw await this.#fail(thrown, req, id);
    } finally {
      // A signal that never fired can serve the next command (transports drop their listener once a
      // transfer settles), and so can its link to the caller's signal; a fired one cannot.
      if (earlyCancel !== undefined && !earlyCancel.signal.aborted) this.#spareEarlyCancel.giveBack(earlyCancel);
      else this.#link.dropIfFired();
      if (alone) this.#busy = false;
    }
  }

  /** Options for the next transfer of a command: the remaining time (at `t`, default now), or a TimeoutError if none is left. */
  #stageOptions(req: BotCommandRequest, deadline: number, into?: Uint8Array, t = now()): TransferOptions & { into?: Uint8Array } {
    if (req.signal?.aborted) throw abortReason(req.signal);
    const remaining = Math.ceil(deadline - t);
    if (remaining <= 0) throw new TimeoutError(`The command did not finish within ${req.timeoutMs} ms; the device was reset`);
    const timeoutMs = transferTimeout(remaining);
    const signal = req.signal;
    // Written out per case, each literal one shape (see the pipelined stages in #exchange).
    if (signal === undefined) return into === undefined ? { timeoutMs } : { timeoutMs, into };
    return into === undefined ? { timeoutMs, signal } : { timeoutMs, signal, into };
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
   * `early` is a status read already submitted (or its result), used as the first read: with the CBW,
   * or (`chained`) by the transport once the stage before it ended, so a stall is the status stage's own (§6.7.2).
   */
  async #readCsw(
    req: BotCommandRequest,
    deadline: number,
    id: number,
    tag: number,
    early: BulkInResult | Promise<BulkInResult> | undefined,
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
    // Every transfer of the exchange has settled (the one that threw, and those queued ahead of
    // their turn, cancelled and waited for): nothing writes into the caller's buffer any more.
    req.onTransfersEnded?.();
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
    // A caller who gave up on a read into its own buffer was held until now (onTransfersEnded):
    // its rejection goes out before recovery starts, so what it waits for is the transfers' end, not
    // recovery's first requests. Nothing touches the device meanwhile; the queue's next job still
    // waits for recovery to end.
    if (req.onTransfersEnded !== undefined && req.signal?.aborted === true) await nextTask();
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
