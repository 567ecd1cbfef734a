import { ParseError } from '../errors.js';
import { getU32 } from './bytes.js';

/** One entry of the REPORT LUNS list (SPC-4 §6.33). */
export interface ReportedLun {
  /**
   * The LUN number for single-level peripheral (00b) or flat (01b) addressing
   * (SAM-5, LUN formats); undefined for other address methods.
   */
  lun?: number;
  /** The 8-byte LUN as returned. */
  raw: Uint8Array;
}

/** Decoded REPORT LUNS parameter data (SPC-4 §6.33). */
export interface ReportLunsData {
  /** LUN LIST LENGTH as declared, in bytes. */
  listLength: number;
  luns: ReportedLun[];
  /** True when the device declared more LUNs than the allocation length let it return. */
  truncated: boolean;
}

/** REPORT LUNS parameter data (SPC-4 §6.33). */
export function decodeReportLuns(data: Uint8Array): ReportLunsData {
  if (data.length < 8) {
    throw new ParseError('REPORT LUNS data', `${data.length} bytes received, the 8-byte header is incomplete`);
  }
  const listLength = getU32(data, 0);
  if (listLength % 8 !== 0) {
    throw new ParseError('REPORT LUNS data', `LUN list length ${listLength} is not a multiple of 8`);
  }
  // Bounded by the bytes received, never by the declared length.
  const end = Math.min(data.length, 8 + listLength);
  const luns: ReportedLun[] = [];
  for (let offset = 8; offset + 8 <= end; offset += 8) {
    const raw = data.subarray(offset, offset + 8);
    const b0 = raw[0] ?? 0;
    const b1 = raw[1] ?? 0;
    const method = b0 >> 6;
    const rest = raw.subarray(2).every((b) => b === 0);
    const entry: ReportedLun = { raw };
    if (rest && method === 0 && (b0 & 0x3f) === 0) entry.lun = b1;
    else if (rest && method === 1) entry.lun = ((b0 & 0x3f) << 8) | b1;
    luns.push(entry);
  }
  return { listLength, luns, truncated: data.length < 8 + listLength };
}

/** The decodable LUN numbers of REPORT LUNS data, in the order reported. */
export function reportedLunNumbers(data: Uint8Array): number[] {
  const out: number[] = [];
  for (const entry of decodeReportLuns(data).luns) if (entry.lun !== undefined) out.push(entry.lun);
  return out;
}
