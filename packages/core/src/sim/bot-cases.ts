/**
 * The state of one command inside the simulated BOT device, and the thirteen host/device cases of
 * BOT 1.0 §6.7 as a pure decision over the host's CBW and the target's plan.
 */

import { CswStatus } from '../bot/wire.js';
import type { Cbw } from '../bot/wrappers.js';
import type { SimFault, SimFaultKind, SimStage } from './faults.js';
import { ScsiStatus, type TargetPlan } from './scsi-plan.js';
import type { SimLogicalUnit } from './scsi-target.js';
import type { SimCommandRecord } from './types.js';

const EMPTY = new Uint8Array(0);

/** The command the device is working on, from its CBW to its CSW. */
export interface Active {
  record: SimCommandRecord;
  cbw: Cbw;
  lu: SimLogicalUnit;
  phase: 'busy' | 'data-in' | 'data-out' | 'status';
  hostDir: 'none' | 'in' | 'out';
  /** Whether the data stage of an OUT command is over (so further OUTs are not data). */
  dataOver: boolean;
  // data-in
  inData: Uint8Array;
  inLimit: number;
  inSent: number;
  hostInReceived: number;
  stallInAtEnd: boolean;
  babbleExtra: number;
  skipData: boolean;
  // data-out
  /** Data-out chunks as received (grown with what the host actually sends, never pre-sized from the CBW). */
  outChunks: Uint8Array[];
  outAccept: number;
  outUse: number;
  outReceived: number;
  onOut: ((data: Uint8Array) => ScsiStatus | Promise<ScsiStatus>) | undefined;
  outStallFault: boolean;
  // status
  cswStatus: number;
  residue: number;
  cswStalls: number;
  cswZeroLength: number;
  badSignature: number | undefined;
  wrongTag: number | undefined;
  residueExtra: number;
  hangAt: SimStage | undefined;
  disconnectAt: SimStage | undefined;
}

/** The options of the simulated device that change how a case is answered. */
export interface CaseOptions {
  /** Case 5 (Hi > Di): STALL bulk-IN after the short data. */
  stallOnShortDataIn?: boolean | undefined;
  /** Case 11 (Ho > Do): accept and discard the excess instead of stalling bulk-OUT. */
  acceptExcessDataOut?: boolean | undefined;
}

/** A command that just arrived: busy, nothing planned yet. */
export function newActive(record: SimCommandRecord, cbw: Cbw, lu: SimLogicalUnit, hangAt: SimStage | undefined, disconnectAt: SimStage | undefined): Active {
  return {
    record,
    cbw,
    lu,
    phase: 'busy',
    hostDir: cbw.dataTransferLength === 0 ? 'none' : cbw.direction,
    dataOver: false,
    inData: EMPTY,
    inLimit: 0,
    inSent: 0,
    hostInReceived: 0,
    stallInAtEnd: false,
    babbleExtra: 0,
    skipData: false,
    outChunks: [],
    outAccept: 0,
    outUse: 0,
    outReceived: 0,
    onOut: undefined,
    outStallFault: false,
    cswStatus: CswStatus.Passed,
    residue: 0,
    cswStalls: 0,
    cswZeroLength: 0,
    badSignature: undefined,
    wrongTag: undefined,
    residueExtra: 0,
    hangAt,
    disconnectAt,
  };
}

/** The first `length` bytes of `chunks`, as one array. */
export function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const first = chunks[0];
  if (chunks.length === 1 && first && first.length === length) return first;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    if (at >= length) break;
    const n = Math.min(c.length, length - at);
    out.set(n === c.length ? c : c.subarray(0, n), at);
    at += n;
  }
  return out;
}

/**
 * Matches the device's intent (plan) against the host's CBW: BOT 1.0 §6.7, the thirteen cases
 * (Hn/Hi/Ho = host expects none/in/out, Dn/Di/Do = device intends). Sets the stages, residue and CSW
 * status of `a`; returns true when bulk-OUT must be halted (cases 9 and 10).
 */
export function matchThirteenCases(a: Active, plan: TargetPlan, options: CaseOptions): { haltOut: boolean } {
  const H = a.cbw.dataTransferLength;
  const dDir: 'none' | 'in' | 'out' = plan.dir === 'in' && plan.data.length === 0 ? 'none' : plan.dir;
  let haltOut = false;
  a.phase = 'status';
  // Data-out commands report their status once the data is in (#finishDataOut).
  a.cswStatus = plan.dir === 'out' || plan.status === ScsiStatus.Good ? CswStatus.Passed : CswStatus.Failed;

  if (a.hostDir === 'none') {
    // Case 1 (Hn = Dn): status only. Cases 2/3 (Hn < Di, Hn < Do): Phase Error.
    if (dDir !== 'none') a.cswStatus = CswStatus.PhaseError;
    a.residue = 0;
  } else if (a.hostDir === 'in') {
    a.phase = 'data-in';
    if (plan.dir === 'in' && dDir === 'in') {
      const di = plan.data.length;
      a.inData = plan.data;
      if (di <= H) {
        // Case 6 (Hi = Di) or case 5 (Hi > Di): send Di, residue Hi - Di.
        a.inLimit = di;
        a.residue = H - di;
        a.stallInAtEnd = di < H && (options.stallOnShortDataIn ?? false);
      } else {
        // Case 7 (Hi < Di): send Hi bytes, then Phase Error.
        a.inLimit = H;
        a.cswStatus = CswStatus.PhaseError;
        a.residue = 0;
      }
    } else {
      // Case 4 (Hi > Dn): STALL bulk-IN, residue Hi. Case 8 (Hi <> Do): STALL, Phase Error.
      a.inLimit = 0;
      a.stallInAtEnd = true;
      a.residue = H;
      if (dDir === 'out') a.cswStatus = CswStatus.PhaseError;
    }
  } else {
    if (plan.dir === 'out') {
      a.phase = 'data-out';
      const dout = plan.length;
      if (dout === H) {
        // Case 12 (Ho = Do).
        a.outAccept = H;
        a.outUse = H;
        a.onOut = plan.complete;
      } else if (dout < H) {
        // Case 11 (Ho > Do): take Do bytes, then STALL bulk-OUT (or accept and discard), residue Ho - Do.
        a.outAccept = options.acceptExcessDataOut ? H : dout;
        a.outUse = dout;
        a.onOut = plan.complete;
        a.residue = H - dout;
      } else {
        // Case 13 (Ho < Do): take Ho bytes, Phase Error; the command is not executed.
        a.outAccept = H;
        a.outUse = H;
        a.cswStatus = CswStatus.PhaseError;
      }
    } else {
      // Case 9 (Ho > Dn): STALL bulk-OUT, residue Ho. Case 10 (Ho <> Di): STALL, Phase Error.
      haltOut = true;
      a.dataOver = true;
      a.residue = H;
      if (dDir === 'in') a.cswStatus = CswStatus.PhaseError;
    }
  }
  return { haltOut };
}

/** What a bad-csw-signature fault sends by default: "USBs", the CSW signature with one letter's case flipped. */
const BAD_CSW_SIGNATURE = 0x73425355;
/** A residue-too-large fault's default excess: one 512-byte block. */
const DEFAULT_RESIDUE_EXCESS = 512;

/**
 * The armed faults that act on the data and status stages of `a` (short, long or skipped data, stalls,
 * a Phase Error, a bad CSW). `take` fires the first armed fault of a kind for this command, if any.
 * Returns true when the data-out stage is already over (a stall before its first byte).
 */
export function applyStageFaults(a: Active, take: (kind: SimFaultKind) => SimFault | undefined): boolean {
  const H = a.cbw.dataTransferLength;
  let finishDataOut = false;
  if (a.phase === 'data-in' && a.inLimit > 0) {
    const skip = take('skip-data');
    if (skip) {
      a.skipData = true;
      a.residue = H;
    }
    const short = take('short-data');
    if (short && short.kind === 'short-data') {
      const missing = Math.min(a.inLimit, Math.max(1, short.missingBytes ?? Math.ceil(a.inLimit / 2)));
      a.inLimit -= missing;
      if (a.cswStatus !== CswStatus.PhaseError) a.residue = H - a.inLimit;
    }
    const long = take('long-data');
    if (long && long.kind === 'long-data') {
      a.babbleExtra = Math.max(1, long.extraBytes ?? 1);
      a.cswStatus = CswStatus.PhaseError;
    }
  }
  if (a.phase === 'data-in') {
    const stall = take('stall-data-in');
    if (stall && stall.kind === 'stall-data-in') {
      a.inLimit = Math.min(a.inLimit, stall.afterBytes ?? 0);
      a.stallInAtEnd = true;
      if (a.cswStatus !== CswStatus.PhaseError) a.residue = H - a.inLimit;
    }
  }
  if (a.phase === 'data-out') {
    const stall = take('stall-data-out');
    if (stall && stall.kind === 'stall-data-out') {
      a.outAccept = Math.min(a.outAccept, stall.afterBytes ?? 0);
      a.outStallFault = true;
      if (a.cswStatus !== CswStatus.PhaseError) a.residue = H - a.outAccept;
      if (a.outAccept === 0) finishDataOut = true;
    }
  }
  if (take('phase-error')) a.cswStatus = CswStatus.PhaseError;
  const stallCsw = take('stall-csw');
  if (stallCsw && stallCsw.kind === 'stall-csw') a.cswStalls = Math.max(1, stallCsw.count ?? 1);
  if (take('zero-length-csw')) a.cswZeroLength = 1;
  const sig = take('bad-csw-signature');
  if (sig && sig.kind === 'bad-csw-signature') a.badSignature = sig.signature ?? BAD_CSW_SIGNATURE;
  const tag = take('wrong-tag');
  if (tag && tag.kind === 'wrong-tag') a.wrongTag = tag.tag ?? (a.cbw.tag ^ 0xffffffff) >>> 0;
  const big = take('residue-too-large');
  if (big && big.kind === 'residue-too-large') a.residueExtra = Math.max(1, big.extraBytes ?? DEFAULT_RESIDUE_EXCESS);
  return finishDataOut;
}
