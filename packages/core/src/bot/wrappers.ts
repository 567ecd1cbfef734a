import { InvalidArgumentError, ParseError } from '../errors.js';
import { CBW_FLAG_DATA_IN, CBW_LENGTH, CBW_MAX_CDB_LENGTH, CBW_SIGNATURE, CbwOffset, CSW_LENGTH, CswOffset } from './wire.js';

export { CBW_LENGTH, CBW_SIGNATURE, CSW_LENGTH, CSW_SIGNATURE, CswStatus } from './wire.js';

/** Direction of the data stage as the CBW states it (bmCBWFlags bit 7), from the host's point of view. */
export type BotDirection = 'in' | 'out';

/** Command Block Wrapper fields (USB MSC BOT 1.0 §5.1): 31 bytes on the wire, little-endian. */
export interface Cbw {
  /** dCBWTag: echoed by the device in the CSW. */
  tag: number;
  /** dCBWDataTransferLength: bytes the host expects to transfer. */
  dataTransferLength: number;
  /** bmCBWFlags bit 7: 1 = data-in. Ignored by the device when the length is 0. */
  direction: BotDirection;
  /** bCBWLUN, 0-15. */
  lun: number;
  /** CBWCB, 1-16 bytes (bCBWCBLength). */
  cdb: Uint8Array;
}

/** Command Status Wrapper fields (USB MSC BOT 1.0 §5.2): 13 bytes on the wire, little-endian. */
export interface Csw {
  signature: number;
  tag: number;
  /** dCSWDataResidue: difference between expected and actual data. */
  residue: number;
  /** bCSWStatus: 0 passed, 1 failed, 2 phase error (3-255 reserved). */
  status: number;
}

/** Encodes a CBW (BOT 1.0 §5.1). Fields are little-endian. */
export function encodeCbw(cbw: Cbw, out: Uint8Array = new Uint8Array(CBW_LENGTH)): Uint8Array {
  if (out.length < CBW_LENGTH) throw new InvalidArgumentError(`CBW buffer must be ${CBW_LENGTH} bytes`);
  if (!Number.isInteger(cbw.tag) || cbw.tag < 0 || cbw.tag > 0xffffffff) {
    throw new InvalidArgumentError(`CBW tag ${cbw.tag} is not a 32-bit unsigned integer`);
  }
  if (!Number.isInteger(cbw.dataTransferLength) || cbw.dataTransferLength < 0 || cbw.dataTransferLength > 0xffffffff) {
    throw new InvalidArgumentError(`transfer length ${cbw.dataTransferLength} does not fit dCBWDataTransferLength (32 bits)`);
  }
  if (!Number.isInteger(cbw.lun) || cbw.lun < 0 || cbw.lun > 15) {
    throw new InvalidArgumentError(`LUN ${cbw.lun} is out of range 0-15 (BOT 1.0 §5.1 bCBWLUN)`);
  }
  if (cbw.cdb.length < 1 || cbw.cdb.length > CBW_MAX_CDB_LENGTH) {
    throw new InvalidArgumentError(`CDB length ${cbw.cdb.length} is out of range 1-16 (BOT 1.0 §5.1 bCBWCBLength)`);
  }
  const view = new DataView(out.buffer, out.byteOffset, CBW_LENGTH);
  view.setUint32(CbwOffset.signature, CBW_SIGNATURE, true);
  view.setUint32(CbwOffset.tag, cbw.tag, true);
  view.setUint32(CbwOffset.dataTransferLength, cbw.dataTransferLength, true);
  out[CbwOffset.flags] = cbw.direction === 'in' ? CBW_FLAG_DATA_IN : 0x00;
  out[CbwOffset.lun] = cbw.lun & 0x0f;
  out[CbwOffset.cdbLength] = cbw.cdb.length & 0x1f;
  out.fill(0, CbwOffset.cdb, CBW_LENGTH);
  out.set(cbw.cdb, CbwOffset.cdb);
  return out.length === CBW_LENGTH ? out : out.subarray(0, CBW_LENGTH);
}

/**
 * Decodes a CBW. Used by the simulator (the device side) to check the host.
 * Throws ParseError when the CBW is not valid and meaningful (BOT 1.0 §6.2).
 */
export function decodeCbw(bytes: Uint8Array): Cbw {
  if (bytes.length !== CBW_LENGTH) throw new ParseError('CBW', `length ${bytes.length}, expected ${CBW_LENGTH}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const signature = view.getUint32(CbwOffset.signature, true);
  if (signature !== CBW_SIGNATURE) throw new ParseError('CBW', `bad signature 0x${signature.toString(16).padStart(8, '0')}`);
  const flags = bytes[CbwOffset.flags] ?? 0;
  if ((flags & ~CBW_FLAG_DATA_IN & 0xff) !== 0) throw new ParseError('CBW', `reserved bits set in bmCBWFlags (0x${flags.toString(16)})`);
  const lunByte = bytes[CbwOffset.lun] ?? 0;
  if ((lunByte & 0xf0) !== 0) throw new ParseError('CBW', `reserved bits set in bCBWLUN (0x${lunByte.toString(16)})`);
  const cbLength = bytes[CbwOffset.cdbLength] ?? 0;
  if ((cbLength & 0xe0) !== 0 || cbLength < 1 || cbLength > CBW_MAX_CDB_LENGTH) throw new ParseError('CBW', `bad bCBWCBLength ${cbLength}`);
  return {
    tag: view.getUint32(CbwOffset.tag, true),
    dataTransferLength: view.getUint32(CbwOffset.dataTransferLength, true),
    direction: (flags & CBW_FLAG_DATA_IN) !== 0 ? 'in' : 'out',
    lun: lunByte & 0x0f,
    cdb: bytes.slice(CbwOffset.cdb, CbwOffset.cdb + cbLength),
  };
}

/** Encodes a CSW (device side; the simulator uses it). */
export function encodeCsw(csw: Csw, out: Uint8Array = new Uint8Array(CSW_LENGTH)): Uint8Array {
  // A short buffer would make DataView throw an untyped RangeError.
  if (out.length < CSW_LENGTH) throw new InvalidArgumentError(`CSW buffer must be ${CSW_LENGTH} bytes`);
  const view = new DataView(out.buffer, out.byteOffset, CSW_LENGTH);
  view.setUint32(CswOffset.signature, csw.signature >>> 0, true);
  view.setUint32(CswOffset.tag, csw.tag >>> 0, true);
  view.setUint32(CswOffset.residue, csw.residue >>> 0, true);
  out[CswOffset.status] = csw.status & 0xff;
  return out.length === CSW_LENGTH ? out : out.subarray(0, CSW_LENGTH);
}

/**
 * Decodes the 13 bytes of a CSW without judging them. Validity (size,
 * signature, tag: BOT 1.0 §6.3.1) and meaningfulness (§6.3.2) are decided by
 * the BOT engine, which knows the expected tag and transfer length and the
 * device's quirks. Throws ParseError only when the length is not 13.
 */
export function decodeCsw(bytes: Uint8Array): Csw {
  if (bytes.length !== CSW_LENGTH) throw new ParseError('CSW', `length ${bytes.length}, expected ${CSW_LENGTH}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, CSW_LENGTH);
  return {
    signature: view.getUint32(CswOffset.signature, true),
    tag: view.getUint32(CswOffset.tag, true),
    residue: view.getUint32(CswOffset.residue, true),
    status: bytes[CswOffset.status] ?? 0,
  };
}
