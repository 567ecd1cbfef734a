/** ATA Information VPD page (89h, SAT-4): the SATL's identity, the device signature and IDENTIFY data. */
import { ParseError } from '../errors.js';
import { asciiField, getU16 } from '../scsi/bytes.js';
import { type AtaIdentify, decodeIdentifyDevice } from './identify.js';

/** The ATA Information VPD page (89h, SAT-4): SAT vendor/product/revision, signature and IDENTIFY data. */
export interface AtaInformationVpd {
  peripheralDeviceType: number;
  /** SAT VENDOR IDENTIFICATION, PRODUCT IDENTIFICATION, PRODUCT REVISION LEVEL: who translates (e.g. "linux", "libata"). */
  satVendor: string;
  satProduct: string;
  satRevision: string;
  /** DEVICE SIGNATURE (20 bytes, a Register Device-to-Host FIS on SATA). */
  signature: Uint8Array;
  /** 'ata' (COUNT 1, LBA 000001h), 'atapi' (LBA mid/high 14h/EBh), or 'unknown', from the signature. */
  signatureType: 'ata' | 'atapi' | 'unknown';
  /** COMMAND CODE: ECh (IDENTIFY DEVICE) or A1h (IDENTIFY PACKET DEVICE). */
  commandCode: number;
  /** The IDENTIFY data, decoded when the command code is ECh and all 512 bytes came. */
  identify?: AtaIdentify;
  /** The IDENTIFY bytes as received (may be fewer than 512 when the page was cut short). */
  identifyRaw: Uint8Array;
}

/** Decodes VPD page 89h. Throws ParseError for a wrong page code or a page shorter than its fixed fields (60 bytes). */
export function decodeAtaInformationVpd(data: Uint8Array): AtaInformationVpd {
  if (data.length < 4) throw new ParseError('ATA Information VPD page', `needs a 4-byte header, got ${data.length} bytes`);
  if (data[1] !== 0x89) throw new ParseError('ATA Information VPD page', `page code is 0x${(data[1] ?? 0).toString(16)}, not 0x89`);
  const end = Math.min(data.length, 4 + getU16(data, 2));
  if (end < 60) throw new ParseError('ATA Information VPD page', `needs at least 60 bytes, got ${end}`);
  const page = data.subarray(0, end);
  const signature = page.slice(36, 56);
  // Signature FIS: byte 12 COUNT, 4 LBA low, 5 LBA mid, 6 LBA high (SATA 3.x §10.5.6 Register D2H FIS).
  const mid = signature[5] ?? 0;
  const high = signature[6] ?? 0;
  const signatureType = mid === 0x14 && high === 0xeb ? 'atapi' : mid === 0 && high === 0 && signature[4] === 1 ? 'ata' : 'unknown';
  const commandCode = page[56] ?? 0;
  const identifyRaw = page.subarray(60, Math.min(end, 572));
  const out: AtaInformationVpd = {
    peripheralDeviceType: (page[0] ?? 0) & 0x1f,
    satVendor: asciiField(page, 8, 16),
    satProduct: asciiField(page, 16, 32),
    satRevision: asciiField(page, 32, 36),
    signature,
    signatureType,
    commandCode,
    identifyRaw,
  };
  if (commandCode === 0xec && identifyRaw.length === 512) out.identify = decodeIdentifyDevice(identifyRaw);
  return out;
}
