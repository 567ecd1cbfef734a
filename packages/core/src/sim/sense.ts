/**
 * Device-side sense data encoding (SPC-4 §4.5). The simulator builds these
 * bytes itself rather than importing the host's decoders, so a decoder bug
 * cannot hide behind a matching encoder bug.
 */

/** A sense condition as the simulated target records it. */
export interface SimSense {
  /** Sense key (SPC-4 §4.5.6), e.g. 0x05 ILLEGAL REQUEST. */
  key: number;
  asc: number;
  ascq: number;
  /** INFORMATION field (e.g. the failing LBA); sets VALID. */
  information?: number;
  /** Sense-key-specific field pointer for ILLEGAL REQUEST (SPC-4 §4.5.2.4.2). */
  fieldPointer?: { inCdb: boolean; byte: number; bit?: number };
  /**
   * Sense bytes to return as they are, whatever format REQUEST SENSE asks for: a SAT bridge's ATA return
   * (SAT-4 §12.2.2.6/7) is in the format its D_SENSE chose (see SimAtaDrive).
   */
  raw?: Uint8Array;
}

/** Common conditions, named after the SPC-4 ASC/ASCQ table. */
export const Sense = {
  /** 00/00/00: NO SENSE, what REQUEST SENSE returns when nothing is pending. */
  noSense: (): SimSense => ({ key: 0x00, asc: 0x00, ascq: 0x00 }),
  /** 02/04/01: LOGICAL UNIT IS IN PROCESS OF BECOMING READY. */
  becomingReady: (): SimSense => ({ key: 0x02, asc: 0x04, ascq: 0x01 }),
  /** 02/04/02: LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (stopped by START STOP UNIT). */
  initializingCommandRequired: (): SimSense => ({ key: 0x02, asc: 0x04, ascq: 0x02 }),
  /** 02/3A/00: MEDIUM NOT PRESENT. */
  mediumNotPresent: (): SimSense => ({ key: 0x02, asc: 0x3a, ascq: 0x00 }),
  /** 03/11/00: UNRECOVERED READ ERROR at `lba`. */
  unrecoveredReadError: (lba: number): SimSense => ({ key: 0x03, asc: 0x11, ascq: 0x00, information: lba }),
  /** 03/0C/00: WRITE ERROR at `lba`. */
  writeError: (lba: number): SimSense => ({ key: 0x03, asc: 0x0c, ascq: 0x00, information: lba }),
  /** 05/20/00: INVALID COMMAND OPERATION CODE (no field pointer, as the captured QEMU and gadget devices send it). */
  invalidOpcode: (): SimSense => ({ key: 0x05, asc: 0x20, ascq: 0x00 }),
  /** 05/21/00: LOGICAL BLOCK ADDRESS OUT OF RANGE; INFORMATION = the LBA (SBC-3 §4.5). */
  lbaOutOfRange: (lba: number): SimSense => ({ key: 0x05, asc: 0x21, ascq: 0x00, information: lba }),
  /** 05/24/00: INVALID FIELD IN CDB, pointing at the offending byte (and bit). */
  invalidFieldInCdb: (byte: number, bit?: number): SimSense => ({
    key: 0x05,
    asc: 0x24,
    ascq: 0x00,
    fieldPointer: bit === undefined ? { inCdb: true, byte } : { inCdb: true, byte, bit },
  }),
  /** 05/25/00: LOGICAL UNIT NOT SUPPORTED. */
  lunNotSupported: (): SimSense => ({ key: 0x05, asc: 0x25, ascq: 0x00 }),
  /** 05/39/00: SAVING PARAMETERS NOT SUPPORTED (MODE SENSE page control 3). */
  savingNotSupported: (): SimSense => ({ key: 0x05, asc: 0x39, ascq: 0x00, fieldPointer: { inCdb: true, byte: 2, bit: 7 } }),
  /** 05/53/02: MEDIUM REMOVAL PREVENTED. */
  removalPrevented: (): SimSense => ({ key: 0x05, asc: 0x53, ascq: 0x02 }),
  /** 06/28/00: NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED. */
  mediumChanged: (): SimSense => ({ key: 0x06, asc: 0x28, ascq: 0x00 }),
  /** 06/29/00: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED. */
  powerOnReset: (): SimSense => ({ key: 0x06, asc: 0x29, ascq: 0x00 }),
  /** 04/44/00: INTERNAL TARGET FAILURE (e.g. a vendor hook that threw). */
  internalTargetFailure: (): SimSense => ({ key: 0x04, asc: 0x44, ascq: 0x00 }),
  /** UNIT ATTENTION with the given ASC/ASCQ, 29/00 (POWER ON OR RESET OCCURRED) by default. */
  unitAttention: (asc = 0x29, ascq = 0x00): SimSense => ({ key: 0x06, asc, ascq }),
  /** 07/27/00: WRITE PROTECTED. */
  writeProtected: (): SimSense => ({ key: 0x07, asc: 0x27, ascq: 0x00 }),
  /** 0B/4B/00: DATA PHASE ERROR (the data-out stage was cut short). */
  dataPhaseError: (): SimSense => ({ key: 0x0b, asc: 0x4b, ascq: 0x00 }),
  /** 0E/1D/00: MISCOMPARE DURING VERIFY OPERATION; INFORMATION = offset of the first differing byte. */
  miscompare: (offset: number): SimSense => ({ key: 0x0e, asc: 0x1d, ascq: 0x00, information: offset }),
} as const;

/** Fixed-format sense data is 18 bytes: 8 header + ADDITIONAL SENSE LENGTH 10 (SPC-4 §4.5.3). */
export const FIXED_SENSE_LENGTH = 18;

function sksBytes(sense: SimSense): Uint8Array | undefined {
  const fp = sense.fieldPointer;
  if (fp === undefined) return undefined;
  // SPC-4 §4.5.2.4.2: SKSV(7) C/D(6) BPV(3) BIT POINTER(2:0), FIELD POINTER (16 bits).
  const out = new Uint8Array(3);
  out[0] = 0x80 | (fp.inCdb ? 0x40 : 0) | (fp.bit === undefined ? 0 : 0x08 | (fp.bit & 0x07));
  out[1] = (fp.byte >> 8) & 0xff;
  out[2] = fp.byte & 0xff;
  return out;
}

/** Fixed-format sense (response code 0x70, current error). */
export function encodeFixedSense(sense: SimSense): Uint8Array {
  if (sense.raw !== undefined) return sense.raw.slice();
  const out = new Uint8Array(FIXED_SENSE_LENGTH);
  const info = sense.information;
  // VALID (bit 7 of byte 0) only when the INFORMATION field holds a value that fits its 4 bytes.
  const infoFits = info !== undefined && info >= 0 && info <= 0xffffffff;
  out[0] = 0x70 | (infoFits ? 0x80 : 0);
  out[2] = sense.key & 0x0f;
  if (infoFits) new DataView(out.buffer).setUint32(3, info, false);
  out[7] = FIXED_SENSE_LENGTH - 8;
  out[12] = sense.asc;
  out[13] = sense.ascq;
  const sks = sksBytes(sense);
  if (sks) out.set(sks, 15);
  return out;
}

/**
 * Descriptor-format sense (response code 0x72, SPC-4 §4.5.2): 8-byte header,
 * then an Information descriptor (type 0x00) and a sense-key-specific
 * descriptor (type 0x02) when they apply.
 */
export function encodeDescriptorSense(sense: SimSense): Uint8Array {
  if (sense.raw !== undefined) return sense.raw.slice();
  const parts: Uint8Array[] = [];
  if (sense.information !== undefined && sense.information >= 0) {
    const d = new Uint8Array(12);
    d[0] = 0x00;
    d[1] = 0x0a;
    d[2] = 0x80; // VALID
    new DataView(d.buffer).setBigUint64(4, BigInt(sense.information), false);
    parts.push(d);
  }
  const sks = sksBytes(sense);
  if (sks) {
    const d = new Uint8Array(8);
    d[0] = 0x02;
    d[1] = 0x06;
    d.set(sks, 4);
    parts.push(d);
  }
  const additional = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(8 + additional);
  out[0] = 0x72;
  out[1] = sense.key & 0x0f;
  out[2] = sense.asc;
  out[3] = sense.ascq;
  out[7] = additional;
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
