/**
 * ATA PASS-THROUGH(16) and (12) command blocks (T10 SAT-4 r06 §12.2.2 and
 * §12.2.3). One pure builder turns an ATA taskfile (command, features, count,
 * LBA, device) plus the ATA protocol into the CDB, with the transfer fields
 * (T_LENGTH, BYT_BLOK, T_TYPE, T_DIR) derived from the protocol and the data
 * size, so callers never get them wrong.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkInteger } from '../scsi/bytes.js';
import type { DataDirection } from '../scsi/command.js';
import { ScsiOpcode } from '../scsi/opcodes.js';

/** The PROTOCOL field (SAT-4 §12.2.2.1, table 194): how the SATL runs the ATA command. */
export const AtaProtocol = {
  HardReset: 0x0,
  SoftReset: 0x1,
  NonData: 0x3,
  PioDataIn: 0x4,
  PioDataOut: 0x5,
  Dma: 0x6,
  ExecuteDeviceDiagnostic: 0x8,
  NonDataReset: 0x9,
  UdmaDataIn: 0xa,
  UdmaDataOut: 0xb,
  Fpdma: 0xc,
  ReturnResponseInformation: 0xf,
} as const;
export type AtaProtocol = (typeof AtaProtocol)[keyof typeof AtaProtocol];

/** ATA command codes used here (ACS-4 §7). */
export const AtaCommandCode = {
  ReadLogExt: 0x2f,
  ReadLogDmaExt: 0x47,
  WriteLogExt: 0x3f,
  Smart: 0xb0,
  CheckPowerMode: 0xe5,
  IdentifyDevice: 0xec,
  IdentifyPacketDevice: 0xa1,
  SetFeatures: 0xef,
  SecurityErasePrepare: 0xf3,
  SecurityEraseUnit: 0xf4,
  SetMaxAddress: 0xf9,
  Sanitize: 0xb4,
  DataSetManagement: 0x06,
  WriteDmaExt: 0x35,
  ReadDmaExt: 0x25,
  DownloadMicrocode: 0x92,
} as const;
export type AtaCommandCode = (typeof AtaCommandCode)[keyof typeof AtaCommandCode];

/** SMART feature register values (ACS-3 §7.48; SMART is obsolete in ACS-4 but universal). */
export const SmartFeature = {
  ReadData: 0xd0,
  ReadThresholds: 0xd1,
  AttributeAutosave: 0xd2,
  ExecuteOfflineImmediate: 0xd4,
  ReadLog: 0xd5,
  WriteLog: 0xd6,
  Enable: 0xd8,
  Disable: 0xd9,
  ReturnStatus: 0xda,
} as const;
export type SmartFeature = (typeof SmartFeature)[keyof typeof SmartFeature];

/** SMART commands carry this key in LBA(23:8): LBA mid 4Fh, LBA high C2h (ACS-3 §7.48.1). */
export const SMART_LBA_KEY = 0xc2_4f00;

/** An ATA taskfile as the host writes it. Fields not given are zero. */
export interface AtaTaskfile {
  /** COMMAND register. */
  command: number;
  /** FEATURES, 8 bits (16 with `extend`). */
  features?: number;
  /** COUNT, 8 bits (16 with `extend`). */
  count?: number;
  /** LBA, 28 bits as LBA low/mid/high + device bits 3:0 are not used here: 24 bits (48 with `extend`). */
  lba?: number;
  /** DEVICE register; default 0 (SAT sets bit 6 itself for LBA commands on most SATLs; pass 0x40 to be explicit). */
  device?: number;
}

export interface AtaPassThroughOptions extends AtaTaskfile {
  protocol: AtaProtocol;
  /** 48-bit command (EXTEND = 1): 16-bit features/count, 48-bit LBA. Needs the 16-byte CDB. */
  extend?: boolean;
  /**
   * Bytes of the data stage, a multiple of 512 (SAT-4: with BYT_BLOK = 1 and T_TYPE = 0 the count field
   * holds 512-byte blocks). 0 for non-data protocols.
   */
  transferBytes?: number;
  /**
   * Where the SATL finds the transfer size (T_LENGTH, SAT-4 §12.2.2.1 table 196): 'count' (the default,
   * what IDENTIFY, SMART READ DATA and READ LOG use) or 'features' (e.g. DATA SET MANAGEMENT puts its block
   * count in FEATURES).
   */
  lengthIn?: 'count' | 'features';
  /** CK_COND: ask for the ATA return registers (as sense data, CHECK CONDITION) even on success. */
  checkCondition?: boolean;
  /** CDB size; default 16. The 12-byte CDB cannot carry 48-bit commands. */
  cdbSize?: 12 | 16;
  /**
   * Peripheral device type of the target logical unit (INQUIRY byte 0 bits 4:0), when known. A1h is BLANK on
   * MMC devices (type 05h), so the 12-byte CDB is refused for them (SAT-4 §12.2.3 note).
   */
  peripheralDeviceType?: number;
  /** MULTIPLE_COUNT (log2 of sectors per DRQ block) for READ/WRITE MULTIPLE; default 0. */
  multipleCount?: number;
  /** OFF_LINE (SAT-4 §12.2.2.1): 2^(n+1)-2 seconds the SATL waits before reading status; default 0. */
  offLine?: number;
}

/** What the pass-through builder returns: the CDB plus the data stage it implies. */
export interface AtaPassThroughCdb {
  cdb: Uint8Array;
  direction: DataDirection;
  /** Bytes of the data stage (0 for non-data). */
  length: number;
}

function protocolDirection(protocol: AtaProtocol): DataDirection {
  switch (protocol) {
    case AtaProtocol.PioDataIn:
    case AtaProtocol.UdmaDataIn:
      return 'in';
    case AtaProtocol.PioDataOut:
    case AtaProtocol.UdmaDataOut:
      return 'out';
    default:
      return 'none';
  }
}

/**
 * Builds ATA PASS-THROUGH(16) (85h, SAT-4 §12.2.2) or (12) (A1h, §12.2.3).
 *
 * For a data-in or data-out protocol (PIO, UDMA) the direction is fixed by the protocol; DMA and FPDMA take
 * it from `direction`. T_LENGTH = 2 (the count field) or 1 (features) with BYT_BLOK = 1 and T_TYPE = 0: the
 * field holds 512-byte blocks, and the caller's COUNT must match `transferBytes / 512`.
 */
export function ataPassThrough(options: AtaPassThroughOptions & { direction?: DataDirection }): AtaPassThroughCdb {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('ataPassThrough: an options object is required');
  const protocol = checkInteger('ATA PASS-THROUGH protocol', options.protocol, 0xf) as AtaProtocol;
  const extend = options.extend === true;
  const size = options.cdbSize ?? 16;
  if (size !== 12 && size !== 16) throw new InvalidArgumentError(`ATA PASS-THROUGH CDB size must be 12 or 16, got ${String(size)}`);
  if (size === 12 && extend) throw new InvalidArgumentError('ATA PASS-THROUGH(12) cannot carry a 48-bit (EXTEND) command: use the 16-byte CDB');
  if (size === 12 && options.peripheralDeviceType === 0x05) {
    // SAT-4 §12.2.3: opcode A1h is BLANK in MMC; never send PT(12) to a CD/DVD device.
    throw new InvalidArgumentError('ATA PASS-THROUGH(12) refused for a peripheral device type 05h (MMC) logical unit: A1h is BLANK there');
  }
  const command = checkInteger('ATA command', options.command, 0xff);
  const wide = extend ? 0xffff : 0xff;
  const features = checkInteger('ATA features', options.features ?? 0, wide);
  const count = checkInteger('ATA count', options.count ?? 0, wide);
  const lba = checkInteger('ATA LBA', options.lba ?? 0, extend ? 0xffff_ffff_ffff : 0xff_ffff);
  const device = checkInteger('ATA device', options.device ?? 0, 0xff);
  const multipleCount = checkInteger('ATA PASS-THROUGH multiple count', options.multipleCount ?? 0, 7);
  const offLine = checkInteger('ATA PASS-THROUGH off-line', options.offLine ?? 0, 3);
  const transferBytes = checkInteger('ATA PASS-THROUGH transfer bytes', options.transferBytes ?? 0, 0xffff * 512);

  let direction = protocolDirection(protocol);
  if (protocol === AtaProtocol.Dma || protocol === AtaProtocol.Fpdma) direction = options.direction ?? (transferBytes > 0 ? 'in' : 'none');
  else if (options.direction !== undefined && options.direction !== direction) {
    throw new InvalidArgumentError(`ATA protocol ${protocol} implies direction "${direction}", not "${options.direction}"`);
  }
  if (direction === 'none' && transferBytes !== 0)
    throw new InvalidArgumentError(`ATA protocol ${protocol} has no data stage, but transferBytes is ${transferBytes}`);
  if (direction !== 'none') {
    if (transferBytes === 0 || transferBytes % 512 !== 0) {
      throw new InvalidArgumentError(`ATA PASS-THROUGH transfer must be a non-zero multiple of 512 bytes, got ${transferBytes}`);
    }
    const blocks = transferBytes / 512;
    const field = options.lengthIn === 'features' ? features : count;
    if (field !== blocks) {
      throw new InvalidArgumentError(
        `ATA ${options.lengthIn === 'features' ? 'features' : 'count'} ${field} does not match the transfer of ${blocks} 512-byte blocks`,
      );
    }
  }

  // Byte 2 (both CDBs): OFF_LINE(7:6) CK_COND(5) T_TYPE(4) T_DIR(3) BYT_BLOK(2) T_LENGTH(1:0), SAT-4 table 195.
  let flags = (offLine << 6) | (options.checkCondition === true ? 0x20 : 0);
  if (direction !== 'none') {
    // T_TYPE 0: 512-byte units; BYT_BLOK 1: the field counts blocks; T_LENGTH 1 = FEATURES, 2 = COUNT.
    flags |= (direction === 'in' ? 0x08 : 0) | 0x04 | (options.lengthIn === 'features' ? 0x01 : 0x02);
  } else {
    // T_LENGTH 0: no data, and T_DIR/BYT_BLOK mean nothing (SAT-4 table 196). smartctl (7.3, `-d sat`) sends
    // them as 1 and 1 on every non-data command, and SATLs have long been tried with its CDBs: send the same.
    flags |= 0x08 | 0x04;
  }
  if (size === 16) {
    const cdb = new Uint8Array(16);
    cdb[0] = ScsiOpcode.AtaPassThrough16;
    cdb[1] = (multipleCount << 5) | (protocol << 1) | (extend ? 1 : 0);
    cdb[2] = flags;
    cdb[3] = (features >>> 8) & 0xff;
    cdb[4] = features & 0xff;
    cdb[5] = (count >>> 8) & 0xff;
    cdb[6] = count & 0xff;
    // LBA bytes as SAT-4 table 193 orders them: (31:24) (7:0) (39:32) (15:8) (47:40) (23:16).
    cdb[7] = byteOf(lba, 3);
    cdb[8] = byteOf(lba, 0);
    cdb[9] = byteOf(lba, 4);
    cdb[10] = byteOf(lba, 1);
    cdb[11] = byteOf(lba, 5);
    cdb[12] = byteOf(lba, 2);
    cdb[13] = device;
    cdb[14] = command;
    return { cdb, direction, length: transferBytes };
  }
  const cdb = new Uint8Array(12);
  cdb[0] = ScsiOpcode.AtaPassThrough12;
  cdb[1] = (multipleCount << 5) | (protocol << 1);
  cdb[2] = flags;
  cdb[3] = features;
  cdb[4] = count;
  cdb[5] = byteOf(lba, 0);
  cdb[6] = byteOf(lba, 1);
  cdb[7] = byteOf(lba, 2);
  cdb[8] = device;
  cdb[9] = command;
  return { cdb, direction, length: transferBytes };
}

/** Byte `n` (0 = least significant) of a non-negative integer up to 2^53. */
function byteOf(value: number, n: number): number {
  return Math.floor(value / 2 ** (8 * n)) & 0xff;
}

/** An ATA PASS-THROUGH CDB taken apart (SAT-4 §12.2.2/§12.2.3): what the simulator and the read-only check read. */
export interface ParsedAtaPassThrough {
  cdbSize: 12 | 16;
  protocol: number;
  extend: boolean;
  multipleCount: number;
  offLine: number;
  checkCondition: boolean;
  /** T_TYPE, T_DIR, BYT_BLOK, T_LENGTH as sent. */
  tType: boolean;
  tDirIn: boolean;
  bytBlok: boolean;
  tLength: number;
  features: number;
  count: number;
  lba: number;
  device: number;
  command: number;
}

/** True when the CDB is ATA PASS-THROUGH(16) or (12). */
export function isAtaPassThrough(cdb: Uint8Array): boolean {
  return (cdb[0] === ScsiOpcode.AtaPassThrough16 && cdb.length >= 16) || (cdb[0] === ScsiOpcode.AtaPassThrough12 && cdb.length >= 12);
}

/** Takes an ATA PASS-THROUGH CDB apart; undefined when it is not one (or too short). */
export function parseAtaPassThrough(cdb: Uint8Array): ParsedAtaPassThrough | undefined {
  if (!isAtaPassThrough(cdb)) return undefined;
  const b = (i: number): number => cdb[i] ?? 0;
  const common = {
    protocol: (b(1) >> 1) & 0x0f,
    multipleCount: b(1) >> 5,
    offLine: b(2) >> 6,
    checkCondition: (b(2) & 0x20) !== 0,
    tType: (b(2) & 0x10) !== 0,
    tDirIn: (b(2) & 0x08) !== 0,
    bytBlok: (b(2) & 0x04) !== 0,
    tLength: b(2) & 0x03,
  };
  if (cdb[0] === ScsiOpcode.AtaPassThrough16) {
    const extend = (b(1) & 1) === 1;
    // Without EXTEND the SATL ignores the upper bytes (SAT-4 §12.2.2.1).
    const lbaLow = b(8) + b(10) * 0x100 + b(12) * 0x1_0000;
    const lbaHigh = b(7) + b(9) * 0x100 + b(11) * 0x1_0000;
    return {
      cdbSize: 16,
      ...common,
      extend,
      features: extend ? (b(3) << 8) | b(4) : b(4),
      count: extend ? (b(5) << 8) | b(6) : b(6),
      lba: extend ? lbaHigh * 0x100_0000 + lbaLow : lbaLow,
      device: b(13),
      command: b(14),
    };
  }
  return {
    cdbSize: 12,
    ...common,
    extend: false,
    features: b(3),
    count: b(4),
    lba: b(5) + b(6) * 0x100 + b(7) * 0x1_0000,
    device: b(8),
    command: b(9),
  };
}
