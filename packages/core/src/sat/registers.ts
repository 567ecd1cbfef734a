/**
 * The ATA registers a SATL returns after ATA PASS-THROUGH, from either sense
 * format: the ATA Status Return sense data descriptor (09h, SAT-4 §12.2.2.6)
 * in descriptor-format sense, or the ATA return fields of fixed-format sense
 * (SAT-4 §12.2.2.7). Devices and kernels answer either way (the control mode
 * page's D_SENSE bit chooses), so both decode to one `AtaRegisters`.
 */
import { ParseError } from '../errors.js';
import type { SenseData } from '../sense/types.js';

/** ATA STATUS register bits (ACS-4 §6.2). */
export const AtaStatus = {
  Error: 0x01,
  /** SENSE DATA AVAILABLE (ACS-4) / obsolete ALIGNMENT ERROR. */
  SenseDataAvailable: 0x02,
  DataRequest: 0x08,
  /** DEVICE FAULT. */
  DeviceFault: 0x20,
  DeviceReady: 0x40,
  Busy: 0x80,
} as const;

/** ATA ERROR register bits (ACS-4 §6.3). */
export const AtaError = {
  Abort: 0x04,
  IdNotFound: 0x10,
  Uncorrectable: 0x40,
  InterfaceCrc: 0x80,
} as const;

/** ATA return registers (the taskfile the device left after the command). */
export interface AtaRegisters {
  error: number;
  status: number;
  device: number;
  /** COUNT: 16 bits when `extend`, else 8. */
  count: number;
  /** LBA: 48 bits when `extend`, else 24 (LBA low, mid, high). */
  lba: number;
  /** EXTEND: the registers are those of a 48-bit command. */
  extend: boolean;
  /**
   * Fixed format only: the upper COUNT (15:8) or LBA (47:24) bytes are non-zero but fixed-format sense cannot
   * carry them (SAT-4 §12.2.2.7 COUNT UPPER NONZERO / LBA UPPER NONZERO), so `count`/`lba` hold only the low bits.
   */
  upperBytesLost?: boolean;
  /** Which sense format they came from. */
  source: 'descriptor' | 'fixed';
}

/** ASC/ASCQ 00/1D: ATA PASS-THROUGH INFORMATION AVAILABLE (SAT-4 §12.2.2.5, CK_COND = 1 and no error). */
export const ATA_PASS_THROUGH_INFORMATION_AVAILABLE = { asc: 0x00, ascq: 0x1d } as const;

/** ATA Status Return sense data descriptor type (SAT-4 §12.2.2.6). */
export const ATA_STATUS_RETURN_DESCRIPTOR = 0x09;

/**
 * Decodes the ATA Status Return descriptor's body (the 12 bytes after type and ADDITIONAL LENGTH 0Ch,
 * SAT-4 table 200). Throws ParseError when it is short.
 */
export function decodeAtaStatusReturnDescriptor(data: Uint8Array): AtaRegisters {
  if (data.length < 12) throw new ParseError('ATA Status Return descriptor', `needs 12 bytes after its header, got ${data.length}`);
  const b = (i: number): number => data[i] ?? 0;
  // Descriptor byte n is data[n - 2]: 2 EXTEND, 3 ERROR, 4-5 COUNT, 6-11 LBA in the (31:24)(7:0)(39:32)(15:8)(47:40)(23:16) order, 12 DEVICE, 13 STATUS.
  const extend = (b(0) & 0x01) !== 0;
  const lbaLow = b(5) + b(7) * 0x100 + b(9) * 0x1_0000;
  const lbaHigh = b(4) + b(6) * 0x100 + b(8) * 0x1_0000;
  return {
    error: b(1),
    status: b(11),
    device: b(10),
    count: extend ? (b(2) << 8) | b(3) : b(3),
    lba: extend ? lbaHigh * 0x100_0000 + lbaLow : lbaLow,
    extend,
    source: 'descriptor',
  };
}

/**
 * Fixed-format ATA return (SAT-4 §12.2.2.7, table 202): INFORMATION = ERROR, STATUS, DEVICE, COUNT(7:0);
 * COMMAND-SPECIFIC INFORMATION = EXTEND | COUNT UPPER NONZERO | LBA UPPER NONZERO | LOG INDEX, LBA(7:0),
 * LBA(15:8), LBA(23:16). Needs the 12 bytes up to the end of COMMAND-SPECIFIC INFORMATION.
 */
export function decodeFixedAtaReturn(raw: Uint8Array): AtaRegisters {
  if (raw.length < 12) throw new ParseError('fixed-format ATA return', `needs 12 bytes of sense data, got ${raw.length}`);
  const b = (i: number): number => raw[i] ?? 0;
  const flags = b(8);
  const out: AtaRegisters = {
    error: b(3),
    status: b(4),
    device: b(5),
    count: b(6),
    lba: b(9) + b(10) * 0x100 + b(11) * 0x1_0000,
    extend: (flags & 0x80) !== 0,
    source: 'fixed',
  };
  if ((flags & 0x60) !== 0) out.upperBytesLost = true;
  return out;
}

/**
 * The ATA registers in a SATL's sense data after ATA PASS-THROUGH, or undefined when the sense data carries
 * none: descriptor format without a 09h descriptor, or fixed format that is neither 00/1D (CK_COND) nor an
 * ATA error report (SAT-4 §12.2.2.7: the fields are valid only for ATA PASS-THROUGH sense).
 *
 * The caller must know the sense answers an ATA PASS-THROUGH command: fixed-format INFORMATION means an LBA
 * for any other command.
 */
export function ataRegistersFromSense(sense: SenseData): AtaRegisters | undefined {
  if (sense.format === 'descriptor') {
    const descriptor = sense.descriptors?.find((d) => d.type === ATA_STATUS_RETURN_DESCRIPTOR);
    if (descriptor === undefined) return undefined;
    return decodeAtaStatusReturnDescriptor(descriptor.data);
  }
  // Fixed format: 00/1D after CK_COND, or an ATA error report with the ERR/DF bit in STATUS (byte 4).
  if (sense.raw.length < 12) return undefined;
  const informationAvailable = sense.asc === ATA_PASS_THROUGH_INFORMATION_AVAILABLE.asc && sense.ascq === ATA_PASS_THROUGH_INFORMATION_AVAILABLE.ascq;
  const status = sense.raw[4] ?? 0;
  if (!informationAvailable && (status & (AtaStatus.Error | AtaStatus.DeviceFault)) === 0) return undefined;
  return decodeFixedAtaReturn(sense.raw);
}

/** One-line description of ATA registers, e.g. "status 0x50 error 0x00 count 0x0000 lba 0xc24f00 device 0x00". */
export function formatAtaRegisters(r: AtaRegisters): string {
  const h = (v: number, w: number): string => `0x${v.toString(16).padStart(w, '0')}`;
  return `status ${h(r.status, 2)} error ${h(r.error, 2)} count ${h(r.count, r.extend ? 4 : 2)} lba ${h(r.lba, r.extend ? 12 : 6)} device ${h(r.device, 2)}`;
}
