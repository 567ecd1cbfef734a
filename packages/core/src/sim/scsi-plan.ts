/**
 * The contract between the simulator's BOT device model and its SCSI logical units: what the
 * device intends for one command (`TargetPlan`, the "D" side of BOT 1.0 §6.7), the hooks the BOT
 * layer lends for it (`TargetContext`), the vendor-command hook, and the small helpers every
 * command handler builds its plan with (CHECK CONDITION, data-in cut to the allocation length,
 * big-endian CDB fields).
 */
import type { SimSense } from './sense.js';

/** SCSI status byte values (SAM-5). */
export const ScsiStatus = { Good: 0x00, CheckCondition: 0x02 } as const;
export type ScsiStatus = (typeof ScsiStatus)[keyof typeof ScsiStatus];

/** What a vendor hook returns. `undefined` means "not mine": ILLEGAL REQUEST 05/20/00. */
export interface SimVendorResult {
  status: 'good' | 'check-condition';
  /** Data-in bytes (the device intends to send exactly these). */
  data?: Uint8Array;
  /** Sense for a CHECK CONDITION (default NO SENSE). */
  sense?: SimSense;
}

/** Extra facts a vendor hook may use. */
export interface SimVendorContext {
  /** Direction and length the host announced in the CBW. */
  hostDirection: 'none' | 'in' | 'out';
  hostLength: number;
  tag: number;
}

/**
 * Implements opcodes the target does not know. Called with the data-out bytes
 * (empty for IN / no-data commands). May be async.
 */
export type SimVendorHook = (
  cdb: Uint8Array,
  dataOut: Uint8Array,
  lun: number,
  context: SimVendorContext,
) => SimVendorResult | undefined | Promise<SimVendorResult | undefined>;

/** The device's intent for one command (the "D" side of BOT 1.0 §6.7). */
export type TargetPlan =
  | { dir: 'none'; status: ScsiStatus }
  | { dir: 'in'; data: Uint8Array; status: ScsiStatus }
  | {
      dir: 'out';
      length: number;
      /**
       * Runs the command on the data-out bytes the device takes (the first
       * `length`) and returns its SCSI status; not called after a data-out
       * stall fault or a Phase Error (BOT 1.0 §6.7.3, case 13).
       */
      complete: (data: Uint8Array) => ScsiStatus | Promise<ScsiStatus>;
    };

/** Hooks the BOT layer gives the target for one command. */
export interface TargetContext {
  hostDirection: 'none' | 'in' | 'out';
  hostLength: number;
  tag: number;
  lunCount: number;
  vendorHook: SimVendorHook | undefined;
  /** Fires an armed SCSI-level fault of `kind` matching this command, if any. */
  takeNotReady(): SimSense | undefined;
  /** Fires a medium-error fault covering [lba, lba+blocks), returning the first bad LBA. */
  takeMediumError(lba: number, blocks: number, write: boolean): number | undefined;
  /** Counters. */
  countRead(bytes: number): void;
  countWritten(bytes: number): void;
  countFlush(): void;
}

export const EMPTY = new Uint8Array(0);

/** CHECK CONDITION with no data stage; the sense is recorded on the unit for REQUEST SENSE (SPC-4 §4.5). */
export function fail(unit: { sense: SimSense | undefined }, sense: SimSense): TargetPlan {
  unit.sense = sense;
  return { dir: 'none', status: ScsiStatus.CheckCondition };
}

/** GOOD with data-in: SPC-4 §4.2.5.6, the device returns min(allocation length, available) bytes. */
export function dataIn(data: Uint8Array, allocation: number): TargetPlan {
  return { dir: 'in', data: data.length > allocation ? data.subarray(0, allocation) : data, status: ScsiStatus.Good };
}

/** INQUIRY strings are left-aligned ASCII padded with spaces (SPC-4 §6.4.2). */
export function ascii(text: string, length: number): Uint8Array {
  const out = new Uint8Array(length).fill(0x20);
  for (let i = 0; i < Math.min(length, text.length); i++) {
    const c = text.charCodeAt(i);
    out[i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return out;
}

// CDB fields are big-endian (SPC-4 §3.5); a CDB shorter than the field reads as zeros.
export function be16(cdb: Uint8Array, at: number): number {
  return ((cdb[at] ?? 0) << 8) | (cdb[at + 1] ?? 0);
}
export function be24(cdb: Uint8Array, at: number): number {
  return ((cdb[at] ?? 0) << 16) | ((cdb[at + 1] ?? 0) << 8) | (cdb[at + 2] ?? 0);
}
export function be32(cdb: Uint8Array, at: number): number {
  return (((cdb[at] ?? 0) << 24) >>> 0) + (((cdb[at + 1] ?? 0) << 16) | ((cdb[at + 2] ?? 0) << 8) | (cdb[at + 3] ?? 0));
}
export function be64(cdb: Uint8Array, at: number): number {
  // LBAs beyond 2^53 cannot exist on a simulated medium; treat them as huge (out of range).
  const hi = be32(cdb, at);
  const lo = be32(cdb, at + 4);
  return hi * 0x1_0000_0000 + lo;
}
