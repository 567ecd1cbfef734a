/**
 * SCSI operation codes used by usbms (SPC-4 §4.2 and annex D, SBC-3 §5, MMC).
 * Opcode values are shared across device types; names follow the direct-access
 * (SBC) meaning.
 */
export const ScsiOpcode = {
  TestUnitReady: 0x00,
  RezeroUnit: 0x01,
  RequestSense: 0x03,
  FormatUnit: 0x04,
  ReassignBlocks: 0x07,
  Read6: 0x08,
  Write6: 0x0a,
  WriteFilemarks6: 0x10,
  Inquiry: 0x12,
  ModeSelect6: 0x15,
  Erase6: 0x19,
  ModeSense6: 0x1a,
  StartStopUnit: 0x1b,
  ReceiveDiagnosticResults: 0x1c,
  SendDiagnostic: 0x1d,
  PreventAllowMediumRemoval: 0x1e,
  ReadFormatCapacities: 0x23,
  ReadCapacity10: 0x25,
  Read10: 0x28,
  Write10: 0x2a,
  Erase10: 0x2c,
  WriteAndVerify10: 0x2e,
  Verify10: 0x2f,
  SynchronizeCache10: 0x35,
  WriteBuffer: 0x3b,
  ReadBuffer: 0x3c,
  WriteLong10: 0x3f,
  WriteSame10: 0x41,
  Unmap: 0x42,
  ReadTocPmaAtip: 0x43,
  GetConfiguration: 0x46,
  XdWrite10: 0x50,
  XpWrite10: 0x51,
  XdWriteRead10: 0x53,
  ModeSelect10: 0x55,
  ModeSense10: 0x5a,
  /** Variable-length CDB (SPC-4 §4.2, variable length CDB); the service action in bytes 8-9 says what it does. */
  VariableLength: 0x7f,
  AtaPassThrough16: 0x85,
  Read16: 0x88,
  CompareAndWrite: 0x89,
  Write16: 0x8a,
  OrWrite16: 0x8b,
  WriteAndVerify16: 0x8e,
  Verify16: 0x8f,
  SynchronizeCache16: 0x91,
  WriteSame16: 0x93,
  WriteAtomic16: 0x9c,
  /** SERVICE ACTION IN(16): READ CAPACITY(16) is service action 0x10 (SBC-3 §5.16). */
  ServiceActionIn16: 0x9e,
  /** SERVICE ACTION OUT(16): WRITE LONG(16) is service action 0x11 (SBC-3, WRITE LONG(16)). */
  ServiceActionOut16: 0x9f,
  ReportLuns: 0xa0,
  /** BLANK on MMC devices; ATA PASS-THROUGH(12) on SAT devices. */
  AtaPassThrough12: 0xa1,
  Read12: 0xa8,
  Write12: 0xaa,
  WriteAndVerify12: 0xae,
  Verify12: 0xaf,
} as const;
export type ScsiOpcode = (typeof ScsiOpcode)[keyof typeof ScsiOpcode];

/** Service actions used with the opcodes above. */
export const ScsiServiceAction = {
  ReadCapacity16: 0x10,
  WriteLong16: 0x11,
} as const;
export type ScsiServiceAction = (typeof ScsiServiceAction)[keyof typeof ScsiServiceAction];

/**
 * Opcodes that change the medium or the data on it, refused by the read-only
 * device option before anything is sent. MODE SELECT is included because it can
 * change how data is stored (e.g. block descriptors, which some devices honour by
 * reformatting). SYNCHRONIZE CACHE is deliberately absent: it only makes already
 * accepted writes durable, and a read-only session must still be able to flush.
 * ATA PASS-THROUGH is absent too: its direction depends on the ATA command inside,
 * and the device layer refuses any data-out anyway.
 */
export const WRITE_CLASS_OPCODES: ReadonlySet<number> = new Set<number>([
  ScsiOpcode.FormatUnit,
  ScsiOpcode.ReassignBlocks,
  ScsiOpcode.Write6,
  ScsiOpcode.WriteFilemarks6,
  ScsiOpcode.ModeSelect6,
  ScsiOpcode.Erase6,
  ScsiOpcode.Write10,
  ScsiOpcode.Erase10,
  ScsiOpcode.WriteAndVerify10,
  ScsiOpcode.WriteBuffer,
  ScsiOpcode.WriteLong10,
  ScsiOpcode.WriteSame10,
  ScsiOpcode.Unmap,
  ScsiOpcode.XdWrite10,
  ScsiOpcode.XpWrite10,
  ScsiOpcode.XdWriteRead10,
  ScsiOpcode.ModeSelect10,
  ScsiOpcode.CompareAndWrite,
  ScsiOpcode.Write16,
  ScsiOpcode.OrWrite16,
  ScsiOpcode.WriteAndVerify16,
  ScsiOpcode.WriteSame16,
  ScsiOpcode.WriteAtomic16,
  ScsiOpcode.Write12,
  ScsiOpcode.WriteAndVerify12,
]);

/**
 * Service actions of the variable-length opcode 0x7F that write (SBC-3 §5:
 * WRITE(32) 0x000B, WRITE AND VERIFY(32) 0x000C, WRITE SAME(32) 0x000D,
 * XDWRITE(32) 0x0004, XPWRITE(32) 0x0006, XDWRITEREAD(32) 0x0007, ORWRITE(32) 0x000E,
 * WRITE SCATTERED(32) 0x0011, WRITE STREAM(32) 0x0010, WRITE ATOMIC(32) 0x000F).
 */
const WRITE_CLASS_VARIABLE_LENGTH = new Set<number>([0x04, 0x06, 0x07, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]);

/**
 * True when a CDB (or a bare opcode) would change the medium: the read-only device
 * option refuses these. For SERVICE ACTION OUT(16) and the variable-length opcode
 * the service action decides; a CDB too short to carry it is treated as writing
 * (refusing an ambiguous command is the safe side).
 */
export function isWriteClassOpcode(cdb: Uint8Array | number): boolean {
  const opcode = typeof cdb === 'number' ? cdb : cdb[0];
  if (opcode === undefined) return false;
  if (WRITE_CLASS_OPCODES.has(opcode)) return true;
  if (opcode === ScsiOpcode.ServiceActionOut16) {
    if (typeof cdb === 'number') return true;
    const action = cdb[1];
    return action === undefined || (action & 0x1f) === ScsiServiceAction.WriteLong16;
  }
  if (opcode === ScsiOpcode.VariableLength) {
    if (typeof cdb === 'number') return true;
    const hi = cdb[8];
    const lo = cdb[9];
    if (hi === undefined || lo === undefined) return true;
    return hi === 0 && WRITE_CLASS_VARIABLE_LENGTH.has(lo);
  }
  return false;
}

const OPCODE_NAMES: Record<number, string> = {
  0x00: 'TEST UNIT READY',
  0x01: 'REZERO UNIT',
  0x03: 'REQUEST SENSE',
  0x04: 'FORMAT UNIT',
  0x07: 'REASSIGN BLOCKS',
  0x08: 'READ(6)',
  0x0a: 'WRITE(6)',
  0x10: 'WRITE FILEMARKS(6)',
  0x12: 'INQUIRY',
  0x15: 'MODE SELECT(6)',
  0x19: 'ERASE(6)',
  0x1a: 'MODE SENSE(6)',
  0x1b: 'START STOP UNIT',
  0x1c: 'RECEIVE DIAGNOSTIC RESULTS',
  0x1d: 'SEND DIAGNOSTIC',
  0x1e: 'PREVENT ALLOW MEDIUM REMOVAL',
  0x23: 'READ FORMAT CAPACITIES',
  0x25: 'READ CAPACITY(10)',
  0x28: 'READ(10)',
  0x2a: 'WRITE(10)',
  0x2c: 'ERASE(10)',
  0x2e: 'WRITE AND VERIFY(10)',
  0x2f: 'VERIFY(10)',
  0x35: 'SYNCHRONIZE CACHE(10)',
  0x3b: 'WRITE BUFFER',
  0x3c: 'READ BUFFER',
  0x3f: 'WRITE LONG(10)',
  0x41: 'WRITE SAME(10)',
  0x42: 'UNMAP',
  0x43: 'READ TOC/PMA/ATIP',
  0x46: 'GET CONFIGURATION',
  0x50: 'XDWRITE(10)',
  0x51: 'XPWRITE(10)',
  0x53: 'XDWRITEREAD(10)',
  0x55: 'MODE SELECT(10)',
  0x5a: 'MODE SENSE(10)',
  0x7f: 'VARIABLE LENGTH',
  0x85: 'ATA PASS-THROUGH(16)',
  0x88: 'READ(16)',
  0x89: 'COMPARE AND WRITE',
  0x8a: 'WRITE(16)',
  0x8b: 'ORWRITE(16)',
  0x8e: 'WRITE AND VERIFY(16)',
  0x8f: 'VERIFY(16)',
  0x91: 'SYNCHRONIZE CACHE(16)',
  0x93: 'WRITE SAME(16)',
  0x9c: 'WRITE ATOMIC(16)',
  0x9e: 'SERVICE ACTION IN(16)',
  0x9f: 'SERVICE ACTION OUT(16)',
  0xa0: 'REPORT LUNS',
  0xa1: 'ATA PASS-THROUGH(12)',
  0xa8: 'READ(12)',
  0xaa: 'WRITE(12)',
  0xae: 'WRITE AND VERIFY(12)',
  0xaf: 'VERIFY(12)',
};

/**
 * Opcodes whose meaning differs on MMC devices (peripheral device type 05h,
 * CD/DVD; MMC-6 §6): the same byte names another command there, e.g. A1h is
 * BLANK rather than SAT's ATA PASS-THROUGH(12). sg3_utils keys its opcode
 * names by device type the same way (sg_lib_data.c: A1h is "Blank" for PDT_MMC).
 */
const MMC_OPCODE_NAMES: Record<number, string> = {
  0x4a: 'GET EVENT STATUS NOTIFICATION',
  0x51: 'READ DISC INFORMATION',
  0x52: 'READ TRACK INFORMATION',
  0x53: 'RESERVE TRACK',
  0x54: 'SEND OPC INFORMATION',
  0x58: 'REPAIR TRACK',
  0x5b: 'CLOSE TRACK/SESSION',
  0x5c: 'READ BUFFER CAPACITY',
  0x5d: 'SEND CUE SHEET',
  0xa1: 'BLANK',
  0xa3: 'SEND KEY',
  0xa4: 'REPORT KEY',
  0xa6: 'LOAD/UNLOAD MEDIUM',
  0xa7: 'SET READ AHEAD',
  0xac: 'GET PERFORMANCE',
  0xad: 'READ DISC STRUCTURE',
  0xb6: 'SET STREAMING',
  0xb9: 'READ CD MSF',
  0xbb: 'SET CD SPEED',
  0xbd: 'MECHANISM STATUS',
  0xbe: 'READ CD',
  0xbf: 'SEND DISC STRUCTURE',
};

/** Peripheral device type of MMC devices (SPC-4, standard INQUIRY data). */
const PDT_MMC = 0x05;

/**
 * Display name of an opcode for traces and errors, e.g. 0x28 -> "READ(10)";
 * "VENDOR SPECIFIC (0xC0)" for 0xC0-0xFF (SPC-4 §4.2, vendor-specific operation codes), "OPCODE 0xNN" otherwise.
 * With the logical unit's peripheral device type, names follow that command set: `opcodeName(0xa1, 5)` is "BLANK" (MMC).
 */
export function opcodeName(opcode: number, peripheralDeviceType?: number): string {
  const name = (peripheralDeviceType === PDT_MMC ? MMC_OPCODE_NAMES[opcode] : undefined) ?? OPCODE_NAMES[opcode];
  if (name !== undefined) return name;
  const hex = `0x${(opcode & 0xff).toString(16).toUpperCase().padStart(2, '0')}`;
  return opcode >= 0xc0 && opcode <= 0xff ? `VENDOR SPECIFIC (${hex})` : `OPCODE ${hex}`;
}
