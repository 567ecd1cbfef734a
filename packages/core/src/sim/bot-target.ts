/**
 * The device side of Bulk-Only Transport (USB MSC BOT 1.0 §5-§6) in the simulator: CBW in, data, CSW
 * out, the thirteen host/device cases of §6.7 (bot-cases.ts), reset recovery, the faults that act on
 * each stage, and the checks of the host (a malformed CBW, a CBW before the CSW was read, ...). The
 * SCSI logical units behind it are scsi-target.ts; the transfers reach it through sim/pipes.ts.
 */

import { CBW_LENGTH, CSW_LENGTH, CSW_SIGNATURE, CswStatus } from '../bot/wire.js';
import { type Cbw, decodeCbw, encodeCsw } from '../bot/wrappers.js';
import { DisconnectedError, InvalidArgumentError, ProtocolViolationError, TransportError } from '../errors.js';
import { Listeners } from '../listeners.js';
import { now } from '../trace.js';
import type { BulkInResult, BulkOutResult, ClassRequest, ControlResult } from '../transport.js';
import { type Active, applyStageFaults, concat, matchThirteenCases, newActive } from './bot-cases.js';
import { ArmedFaults, type SimFault, type SimFaultHandle } from './faults.js';
import { type SimDeviceModel, WAIT, type Wait } from './pipes.js';
import { ScsiStatus, type TargetContext, type TargetPlan } from './scsi-plan.js';
import { SimLogicalUnit } from './scsi-target.js';
import { Sense } from './sense.js';
import type { SimBotState, SimCommandRecord, SimStats, SimulatedDeviceOptions, SimViolation, SimViolationKind } from './types.js';

const EMPTY = new Uint8Array(0);
/** Opcodes answered for any LUN, even one that does not exist (SPC-4 §6.4.2, §6.29, §6.33). */
const Opcode = { RequestSense: 0x03, Inquiry: 0x12, ReportLuns: 0xa0 } as const;
/** Default command log size; when exceeded, the oldest records are dropped down to 90%. */
const DEFAULT_LOG_LIMIT = 20_000;

/** What the target asks of the device around it. */
export interface BotTargetHooks {
  /** The device state changed: retry the transfers it was NAKing. */
  kick(): void;
  /** A disconnect fault fired: unplug the device. */
  disconnect(): void;
}

/** The BOT device model of one {@link SimulatedDevice}. */
export class SimBotTarget implements SimDeviceModel {
  readonly #options: Readonly<SimulatedDeviceOptions>;
  readonly #hooks: BotTargetHooks;
  readonly #maxPacketSizeIn: number;
  readonly #luns: SimLogicalUnit[];
  readonly #phantoms = new Map<number, SimLogicalUnit>();
  readonly #faults = new ArmedFaults();
  readonly #violations: SimViolation[] = [];
  readonly #log: SimCommandRecord[] = [];
  readonly #stats: SimStats = { commands: 0, flushes: 0, bytesRead: 0, bytesWritten: 0, bulkOnlyResets: 0, portResets: 0, clearHalts: 0, stalls: 0 };
  #active: Active | undefined;
  #seq = 0;
  #halted = { in: false, out: false };
  /** BOT 1.0 §6.6.1: after an invalid CBW both pipes stay stalled until reset recovery. */
  #needsReset = false;
  /** A fault made the device stop answering; released by Bulk-Only reset or port reset. */
  #hung = false;
  #phaseErrorPending = false;
  readonly #commandListeners = new Listeners<[SimCommandRecord]>();
  readonly #ctx: TargetContext;

  constructor(luns: SimLogicalUnit[], options: Readonly<SimulatedDeviceOptions>, maxPacketSizeIn: number, hooks: BotTargetHooks) {
    this.#luns = luns;
    this.#options = options;
    this.#maxPacketSizeIn = maxPacketSizeIn;
    this.#hooks = hooks;
    this.#ctx = {
      hostDirection: 'none',
      hostLength: 0,
      tag: 0,
      lunCount: luns.length,
      vendorHook: options.vendorCommand,
      takeNotReady: () => {
        const a = this.#active;
        const f = a && this.#faults.take('not-ready', a.record.opcode, a.cbw.lun, a.record);
        if (f?.kind !== 'not-ready') return undefined;
        const ready = Sense.becomingReady();
        return { key: ready.key, asc: f.asc ?? ready.asc, ascq: f.ascq ?? ready.ascq };
      },
      takeMediumError: (lba, blocks, write) => {
        const a = this.#active;
        if (!a) return undefined;
        const f = this.#faults.take(
          'medium-error',
          a.record.opcode,
          a.cbw.lun,
          a.record,
          (x) => x.kind === 'medium-error' && x.lba >= lba && x.lba < lba + blocks && (!write || x.writes === true),
        );
        return f && f.kind === 'medium-error' ? f.lba : undefined;
      },
      countRead: (n) => {
        this.#stats.bytesRead += n;
      },
      countWritten: (n) => {
        this.#stats.bytesWritten += n;
      },
      countFlush: () => {
        this.#stats.flushes++;
      },
    };
    this.#powerOn();
  }

  get violations(): readonly SimViolation[] {
    return this.#violations;
  }

  get log(): readonly SimCommandRecord[] {
    return this.#log;
  }

  get stats(): Readonly<SimStats> {
    return this.#stats;
  }

  get faults(): readonly SimFaultHandle[] {
    return this.#faults.list;
  }

  get state(): SimBotState {
    return this.#active?.phase ?? 'idle';
  }

  get halted(): Readonly<{ in: boolean; out: boolean }> {
    return { ...this.#halted };
  }

  get hung(): boolean {
    return this.#hung;
  }

  onCommand(listener: (record: SimCommandRecord) => void): () => void {
    return this.#commandListeners.add(listener);
  }

  inject(fault: SimFault): SimFaultHandle {
    const armed = this.#faults.arm(fault);
    if (fault.kind === 'unit-attention' && fault.trigger === 'now') {
      for (const lu of this.#luns) {
        if (fault.lun === undefined || fault.lun === lu.index) lu.pendingUnitAttention = Sense.unitAttention(fault.asc, fault.ascq);
      }
      armed.hits = armed.remaining;
    }
    return armed;
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Plugged in again: power-on state (halts, hang, pending phase error and the LUNs' volatile state cleared). */
  powerCycle(): void {
    this.#halted = { in: false, out: false };
    this.#needsReset = false;
    this.#hung = false;
    this.#phaseErrorPending = false;
    for (const lu of this.#luns) {
      lu.stopped = false;
      lu.removalPrevented = false;
      lu.sense = undefined;
    }
    this.#powerOn();
  }

  #powerOn(): void {
    if (this.#options.unitAttentionOnPowerOn) for (const lu of this.#luns) lu.pendingUnitAttention = Sense.powerOnReset();
  }

  #violation(kind: SimViolationKind, message: string): ProtocolViolationError | undefined {
    const v: SimViolation = { kind, message, time: now() };
    if (this.#active) v.command = this.#active.record.seq;
    this.#violations.push(v);
    return (this.#options.throwOnViolation ?? true) ? new ProtocolViolationError(`host protocol violation (${kind}): ${message}`) : undefined;
  }

  /** BOT 1.0 §6.6.1: stall both pipes until reset recovery. */
  #stallUntilReset(): void {
    this.#halted.in = true;
    this.#halted.out = true;
    this.#needsReset = true;
    this.#stats.stalls++;
  }

  /** A bulk-OUT transfer: a CBW, data-out, or a host bug. */
  serveOut(data: Uint8Array): BulkOutResult | Wait {
    if (this.#halted.out) {
      this.#stats.stalls++;
      return { status: 'stall', bytesWritten: 0 };
    }
    if (this.#hung) return WAIT;
    const a = this.#active;
    if (!a) return this.#onCbw(data);
    if (a.phase === 'data-out') return this.#onDataOut(a, data);
    if (a.phase === 'busy' && a.hostDir === 'out' && !a.dataOver) return WAIT; // not ready for data yet: NAK
    // BOT 1.0 §5.3: the host must read the CSW before the next CBW.
    const what = data.length === CBW_LENGTH ? 'a CBW' : `${data.length} bytes`;
    const error = this.#violation(
      'cbw-before-csw',
      `${what} sent on bulk-OUT while command #${a.record.seq} (tag ${a.cbw.tag}) is in its ${a.phase} stage; read the CSW first`,
    );
    this.#stallUntilReset();
    if (error) throw error;
    return { status: 'stall', bytesWritten: 0 };
  }

  #onCbw(bytes: Uint8Array): BulkOutResult | Wait {
    let cbw: Cbw;
    try {
      cbw = decodeCbw(bytes);
    } catch (cause) {
      // BOT 1.0 §6.2.1 / §6.6.1: a CBW that is not valid or not meaningful: STALL both pipes until reset recovery.
      const error = this.#violation('malformed-cbw', cause instanceof Error ? cause.message : String(cause));
      this.#stallUntilReset();
      if (error) throw error;
      return { status: 'stall', bytesWritten: 0 };
    }
    if (this.#phaseErrorPending && (this.#options.requireResetAfterPhaseError ?? true)) {
      this.#phaseErrorPending = false;
      const error = this.#violation('no-reset-after-phase-error', `CBW tag ${cbw.tag} sent after a Phase Error CSW without reset recovery (BOT 1.0 §6.5)`);
      if (error) throw error;
    }
    const opcode = cbw.cdb[0] ?? 0;
    const hostDir = cbw.dataTransferLength === 0 ? 'none' : cbw.direction;
    const record: SimCommandRecord = {
      seq: ++this.#seq,
      tag: cbw.tag,
      lun: cbw.lun,
      opcode,
      cdb: cbw.cdb,
      direction: hostDir,
      hostLength: cbw.dataTransferLength,
      start: now(),
      outcome: 'in-progress',
      faults: [],
    };
    const hang = this.#faults.take('hang', opcode, cbw.lun, record);
    const disconnect = this.#faults.take('disconnect', opcode, cbw.lun, record);
    const hangAt = hang && hang.kind === 'hang' ? (hang.stage ?? 'csw') : undefined;
    const disconnectAt = disconnect && disconnect.kind === 'disconnect' ? (disconnect.stage ?? (hostDir === 'none' ? 'csw' : 'data')) : undefined;
    this.#pushLog(record);
    this.#stats.commands++;
    const lu = this.#luFor(cbw.lun, opcode);
    const a = newActive(record, cbw, lu, hangAt, disconnectAt);
    this.#active = a;
    if (hangAt === 'cbw') {
      // The CBW never completes; the device is stuck until a reset.
      this.#hung = true;
      return WAIT;
    }
    if (disconnectAt === 'cbw') {
      this.#hooks.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected while receiving the CBW');
    }
    const delayOption = this.#options.commandDelayMs;
    const commandDelay = typeof delayOption === 'function' ? delayOption(cbw.cdb, cbw.lun) : (delayOption ?? 0);
    const planned = this.#plan(a);
    const plan =
      commandDelay > 0 ? Promise.resolve(planned).then((p) => new Promise<TargetPlan>((resolve) => setTimeout(() => resolve(p), commandDelay))) : planned;
    if (plan instanceof Promise) {
      plan.then(
        (p) => {
          if (this.#active !== a) return;
          this.#applyPlan(a, p);
          this.#hooks.kick();
        },
        () => {
          if (this.#active !== a) return;
          // A vendor hook that throws is a target failure: 04/44/00 INTERNAL TARGET FAILURE.
          a.lu.sense = Sense.internalTargetFailure();
          this.#applyPlan(a, { dir: 'none', status: ScsiStatus.CheckCondition });
          this.#hooks.kick();
        },
      );
    } else {
      this.#applyPlan(a, plan);
    }
    return { status: 'ok', bytesWritten: bytes.length };
  }

  #pushLog(record: SimCommandRecord): void {
    this.#log.push(record);
    const limit = Math.max(1, this.#options.logLimit ?? DEFAULT_LOG_LIMIT);
    // Trim in batches (down to 90% of the limit) so a long run does not pay O(n) per command.
    if (this.#log.length > limit) this.#log.splice(0, this.#log.length - Math.ceil(limit * 0.9));
  }

  /** The LU for a CBW's LUN; LUNs beyond the last answer like "no logical unit" (SPC-4 §6.4.2). */
  #luFor(lun: number, opcode: number): SimLogicalUnit {
    const lu = this.#luns[lun];
    if (lu) return lu;
    let phantom = this.#phantoms.get(lun);
    if (!phantom) {
      phantom = new SimLogicalUnit(lun, { mediumPresent: false, blocks: 0 });
      this.#phantoms.set(lun, phantom);
    }
    // REQUEST SENSE to a missing LUN reports 05/25/00 as its sense data (SPC-4 §6.29).
    if (opcode === Opcode.RequestSense) phantom.sense = Sense.lunNotSupported();
    return phantom;
  }

  #plan(a: Active): TargetPlan | Promise<TargetPlan> {
    const { cbw, lu, record } = a;
    const opcode = record.opcode;
    // SPC-4 §6.4.2, §6.29, §6.33: INQUIRY, REQUEST SENSE and REPORT LUNS are answered for any LUN.
    if (cbw.lun >= this.#luns.length && opcode !== Opcode.Inquiry && opcode !== Opcode.RequestSense && opcode !== Opcode.ReportLuns) {
      lu.sense = Sense.lunNotSupported();
      return { dir: 'none', status: ScsiStatus.CheckCondition };
    }
    // One context object per device, refreshed per command: the target reads the host fields
    // synchronously in plan(); the callbacks act on whatever command is active.
    const ctx = this.#ctx;
    ctx.hostDirection = a.hostDir;
    ctx.hostLength = cbw.dataTransferLength;
    ctx.tag = cbw.tag;
    return lu.plan(cbw.cdb, ctx);
  }

  /** The thirteen cases (bot-cases.ts), then the faults that act on the data and status stages. */
  #applyPlan(a: Active, plan: TargetPlan): void {
    if (matchThirteenCases(a, plan, this.#options).haltOut) this.#halted.out = true;
    if (applyStageFaults(a, (kind) => this.#faults.take(kind, a.record.opcode, a.cbw.lun, a.record))) this.#finishDataOut(a);
  }

  #onDataOut(a: Active, data: Uint8Array): BulkOutResult | Wait {
    if (a.hangAt === 'data') {
      this.#hung = true;
      return WAIT;
    }
    if (a.disconnectAt === 'data') {
      this.#hooks.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected during the data-out stage');
    }
    const H = a.cbw.dataTransferLength;
    const hostLeft = H - a.outReceived;
    if (data.length > hostLeft) {
      const error = this.#violation(
        'data-out-overrun',
        `the host sent ${data.length} data-out bytes but only ${hostLeft} remained of dCBWDataTransferLength ${H}`,
      );
      this.#stallUntilReset();
      if (error) throw error;
      return { status: 'stall', bytesWritten: 0 };
    }
    const k = Math.min(data.length, a.outAccept - a.outReceived);
    if (k > 0) a.outChunks.push(data.slice(0, k));
    a.outReceived += k;
    if (a.outReceived === a.outAccept) this.#finishDataOut(a);
    if (k < data.length) {
      this.#stats.stalls++;
      return { status: 'stall', bytesWritten: k };
    }
    return { status: 'ok', bytesWritten: k };
  }

  /** The device has every data-out byte it will take: stall the rest, execute, go to status. */
  #finishDataOut(a: Active): void {
    a.dataOver = true;
    if (a.outReceived < a.cbw.dataTransferLength) this.#halted.out = true;
    a.phase = 'status';
    if (a.outStallFault) {
      a.lu.sense = Sense.dataPhaseError();
      if (a.cswStatus !== CswStatus.PhaseError) a.cswStatus = CswStatus.Failed;
      return;
    }
    if (a.cswStatus === CswStatus.PhaseError || !a.onOut) return;
    const r = a.onOut(concat(a.outChunks, a.outUse));
    if (r instanceof Promise) {
      a.phase = 'busy';
      r.then(
        (s) => {
          if (this.#active !== a) return;
          a.cswStatus = s === ScsiStatus.Good ? CswStatus.Passed : CswStatus.Failed;
          a.phase = 'status';
          this.#hooks.kick();
        },
        () => {
          if (this.#active !== a) return;
          a.lu.sense = Sense.internalTargetFailure();
          a.cswStatus = CswStatus.Failed;
          a.phase = 'status';
          this.#hooks.kick();
        },
      );
    } else {
      a.cswStatus = r === ScsiStatus.Good ? CswStatus.Passed : CswStatus.Failed;
    }
  }

  /** A bulk-IN transfer: data-in or the CSW. */
  serveIn(length: number): BulkInResult | Wait {
    if (this.#halted.in) {
      this.#stats.stalls++;
      return { status: 'stall', data: EMPTY };
    }
    if (this.#hung) return WAIT;
    const a = this.#active;
    // Nothing to send yet (no CBW, command still executing, or waiting for data-out): NAK.
    if (!a || a.phase === 'busy' || a.phase === 'data-out') {
      if (this.#options.stallEarlyIn === true && (!a || a.phase === 'data-out')) {
        // Like QEMU: the token is answered with STALL (the pipe is not left halted).
        this.#stats.stalls++;
        return { status: 'stall', data: EMPTY };
      }
      return WAIT;
    }
    if (a.phase === 'data-in') {
      if (a.hangAt === 'data') {
        this.#hung = true;
        return WAIT;
      }
      if (a.disconnectAt === 'data') {
        this.#hooks.disconnect();
        throw new DisconnectedError('The simulated USB device was disconnected during the data-in stage');
      }
      if (a.skipData) {
        // The device skipped its data stage: what the host reads as data is the CSW.
        a.phase = 'status';
        return this.#sendCsw(a, length);
      }
      return this.#sendData(a, length);
    }
    // Status stage.
    if (a.hangAt === 'csw' || a.hangAt === 'data') {
      this.#hung = true;
      return WAIT;
    }
    if (a.disconnectAt === 'csw' || a.disconnectAt === 'data') {
      this.#hooks.disconnect();
      throw new DisconnectedError('The simulated USB device was disconnected before sending the CSW');
    }
    if (a.cswStalls > 0) {
      a.cswStalls--;
      this.#halted.in = true;
      this.#stats.stalls++;
      return { status: 'stall', data: EMPTY };
    }
    if (a.cswZeroLength > 0) {
      a.cswZeroLength--;
      return { status: 'ok', data: EMPTY };
    }
    return this.#sendCsw(a, length);
  }

  #sendData(a: Active, length: number): BulkInResult {
    const H = a.cbw.dataTransferLength;
    const hostLeft = H - a.hostInReceived;
    const devLeft = a.inLimit - a.inSent;
    const mps = this.#maxPacketSizeIn;
    if (devLeft === 0) {
      // The device has nothing (more) to send in this data stage.
      a.phase = 'status';
      if (a.babbleExtra > 0) {
        return { status: 'babble', data: new Uint8Array(Math.min(length, a.babbleExtra)) };
      }
      if (a.stallInAtEnd) {
        this.#halted.in = true;
        this.#stats.stalls++;
        return { status: 'stall', data: EMPTY };
      }
      // A zero-length packet ends a data stage whose length was a multiple of the packet size.
      return { status: 'ok', data: EMPTY };
    }
    if (a.babbleExtra > 0 && devLeft + a.babbleExtra > length) {
      // Babble: the device keeps sending past what the host asked for.
      const out = new Uint8Array(length);
      out.set(a.inData.subarray(a.inSent, a.inSent + Math.min(devLeft, length)));
      a.inSent = a.inLimit;
      a.hostInReceived += length;
      a.phase = 'status';
      return { status: 'babble', data: out };
    }
    const n = Math.min(length, devLeft, hostLeft);
    if (length % mps !== 0 && Math.min(devLeft, hostLeft) > length) {
      // USB: a host buffer that is not a multiple of wMaxPacketSize overflows when a full packet arrives.
      const sent = Math.min(devLeft, Math.ceil(length / mps) * mps);
      const out = a.inData.slice(a.inSent, a.inSent + length);
      a.inSent += sent;
      a.hostInReceived += sent;
      if (a.inSent === a.inLimit) a.phase = 'status';
      return { status: 'babble', data: out };
    }
    const data = a.inData.subarray(a.inSent, a.inSent + n);
    a.inSent += n;
    a.hostInReceived += n;
    if (a.stallInAtEnd && a.inSent === a.inLimit && a.hostInReceived < H && n < length && n % mps === 0) {
      // The data ended on a packet boundary and the device then STALLs: the host's transfer ends with
      // a STALL handshake, carrying the bytes that arrived before it.
      a.phase = 'status';
      this.#halted.in = true;
      this.#stats.stalls++;
      return { status: 'stall', data };
    }
    if (a.hostInReceived === H || n < length) {
      // Host got everything, or a short packet ended the transfer (BOT 1.0 §6.7.2 case 5).
      a.phase = 'status';
      if (a.stallInAtEnd && a.hostInReceived < H) {
        this.#halted.in = true;
        this.#stats.stalls++;
      }
    }
    return { status: 'ok', data };
  }

  #sendCsw(a: Active, length: number): BulkInResult {
    const H = a.cbw.dataTransferLength;
    const residue = a.residueExtra > 0 ? H + a.residueExtra : a.residue;
    const bytes = encodeCsw({
      signature: a.badSignature ?? CSW_SIGNATURE,
      tag: a.wrongTag ?? a.cbw.tag,
      residue: residue >>> 0,
      status: a.cswStatus,
    });
    a.record.cswStatus = a.cswStatus;
    a.record.residue = residue;
    this.#phaseErrorPending = a.cswStatus === CswStatus.PhaseError;
    this.endActive('completed');
    if (length < CSW_LENGTH) {
      // The 13-byte CSW packet overflows a smaller host buffer.
      return { status: 'babble', data: bytes.slice(0, length) };
    }
    return { status: 'ok', data: bytes };
  }

  /** Ends the active command (CSW sent, reset, disconnect) and tells the command listeners. */
  endActive(outcome: SimCommandRecord['outcome']): void {
    const a = this.#active;
    if (!a) return;
    a.record.outcome = outcome;
    a.record.end = now();
    this.#active = undefined;
    this.#commandListeners.emit(a.record);
  }

  /** CLEAR FEATURE(ENDPOINT_HALT) on a bulk pipe. */
  clearHalt(pipe: 'in' | 'out'): void {
    this.#stats.clearHalts++;
    // BOT 1.0 §6.6.1: after an invalid CBW the device keeps stalling until reset recovery.
    if (!this.#needsReset) this.#halted[pipe] = false;
  }

  /** Get Max LUN (BOT 1.0 §3.2) and Bulk-Only Mass Storage Reset (BOT 1.0 §3.1). */
  classRequest(request: ClassRequest): ControlResult {
    if (request.request === 'get-max-lun') {
      // BOT 1.0 §3.2: Get Max LUN returns the highest LUN number (one byte).
      if (this.#faults.take('get-max-lun-stall', undefined, undefined)) return { status: 'stall', data: EMPTY };
      const override = this.#options.getMaxLun;
      if (override === 'stall') return { status: 'stall', data: EMPTY };
      return { status: 'ok', data: Uint8Array.of((override ?? this.#luns.length - 1) & 0xff) };
    }
    if (request.request === 'bulk-only-reset') {
      if (this.#faults.take('reset-stall', undefined, undefined)) return { status: 'stall', data: EMPTY };
      this.#stats.bulkOnlyResets++;
      this.#reset(false);
      return { status: 'ok', data: EMPTY };
    }
    throw new InvalidArgumentError(`unknown class request ${JSON.stringify(request)}`);
  }

  /** A USB port reset: ends the command, clears the halts (see #reset); fails when a port-reset-fail fault is armed. */
  portReset(cancelTransfers: () => void): void {
    if (this.#faults.take('port-reset-fail', undefined, undefined)) {
      throw new TransportError('The simulated port reset failed (injected fault); the device did not re-enumerate');
    }
    this.#stats.portResets++;
    cancelTransfers();
    this.#reset(true);
  }

  /** A second transfer on a busy endpoint. */
  concurrentTransfer(message: string): Error | undefined {
    return this.#violation('concurrent-transfer', message);
  }

  /**
   * Bulk-Only Mass Storage Reset (BOT 1.0 §3.1): ready for the next CBW; the
   * endpoint halt state is preserved (the host clears it). A port reset also
   * clears the halts.
   */
  #reset(port: boolean): void {
    this.endActive('reset');
    this.#hung = false;
    this.#needsReset = false;
    this.#phaseErrorPending = false;
    if (port) this.#halted = { in: false, out: false };
    if (this.#options.unitAttentionOnReset ?? false) {
      for (const lu of this.#luns) lu.pendingUnitAttention = Sense.powerOnReset();
    }
    // Each armed 'unit-attention' fault counts one hit per reset, whatever the number of LUNs it covers.
    for (const f of this.#faults.pending('unit-attention')) {
      const fault = f.fault;
      if (fault.kind !== 'unit-attention' || f.done) continue;
      for (const lu of this.#luns) {
        if (fault.lun === undefined || fault.lun === lu.index) {
          lu.pendingUnitAttention = Sense.unitAttention(fault.asc, fault.ascq);
        }
      }
      f.fire();
    }
    queueMicrotask(() => this.#hooks.kick());
  }
}
