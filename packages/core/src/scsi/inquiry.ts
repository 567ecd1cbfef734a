import { ParseError } from '../errors.js';
import { asciiField, getU16, getU32, getU64, hex, hexByte } from './bytes.js';

/** Peripheral device types (SPC-4, standard INQUIRY data). */
export const PeripheralDeviceType = {
  DirectAccess: 0x00,
  SequentialAccess: 0x01,
  Printer: 0x02,
  Processor: 0x03,
  WriteOnce: 0x04,
  CdDvd: 0x05,
  OpticalMemory: 0x07,
  MediumChanger: 0x08,
  StorageArrayController: 0x0c,
  EnclosureServices: 0x0d,
  SimplifiedDirectAccess: 0x0e,
  OpticalCardReader: 0x0f,
  ObjectStorage: 0x11,
  AutomationDriveInterface: 0x12,
  WellKnownLogicalUnit: 0x1e,
  Unknown: 0x1f,
} as const;
export type PeripheralDeviceType = (typeof PeripheralDeviceType)[keyof typeof PeripheralDeviceType];

const DEVICE_TYPE_NAMES: Record<number, string> = {
  0x00: 'direct-access block device',
  0x01: 'sequential-access device',
  0x02: 'printer',
  0x03: 'processor',
  0x04: 'write-once device',
  0x05: 'CD/DVD device',
  0x07: 'optical memory device',
  0x08: 'medium changer',
  0x0c: 'storage array controller',
  0x0d: 'enclosure services device',
  0x0e: 'simplified direct-access device',
  0x0f: 'optical card reader/writer',
  0x11: 'object-based storage device',
  0x12: 'automation/drive interface',
  0x1e: 'well-known logical unit',
  0x1f: 'unknown or no device type',
};

/** A readable name for an INQUIRY PERIPHERAL DEVICE TYPE (standard INQUIRY data, SPC-4), e.g. "direct-access block device". */
export function peripheralDeviceTypeName(type: number): string {
  return DEVICE_TYPE_NAMES[type] ?? `reserved device type 0x${hexByte(type)}`;
}

/** Standard INQUIRY data (SPC-4, standard INQUIRY data). */
export interface InquiryData {
  /** 0: LU present (or may be); 1: supported but not connected; 3: no LU at this LUN. */
  peripheralQualifier: number;
  peripheralDeviceType: number;
  deviceTypeName: string;
  /** RMB: removable medium. */
  removable: boolean;
  /** VERSION: the SPC version claimed (0 none, 3 SPC, 4 SPC-2, 5 SPC-3, 6 SPC-4, 7 SPC-5). */
  version: number;
  responseDataFormat: number;
  /** ADDITIONAL LENGTH as declared (bytes after byte 4). */
  additionalLength: number;
  /** 3PC, PROTECT, CMDQUE bits (false when the byte was not returned). */
  thirdPartyCopy: boolean;
  protect: boolean;
  commandQueueing: boolean;
  /** T10 VENDOR IDENTIFICATION, trimmed ("" when not returned). */
  vendor: string;
  product: string;
  revision: string;
  /** True when fewer than the 36 standard bytes were available. */
  truncated: boolean;
  /** The valid bytes (bounded by the declared length and the bytes received). */
  raw: Uint8Array;
}

/**
 * Decodes standard INQUIRY data. Devices may return fewer bytes than asked
 * (Linux accepts 5-byte responses and warns), so fields not returned are empty.
 */
export function decodeInquiry(data: Uint8Array): InquiryData {
  if (data.length < 5) {
    throw new ParseError('INQUIRY data', `${data.length} bytes received, at least 5 are needed (SPC-4, standard INQUIRY data)`);
  }
  const b0 = data[0] ?? 0;
  const additionalLength = data[4] ?? 0;
  const end = Math.min(data.length, 5 + additionalLength);
  const raw = data.subarray(0, end);
  return {
    peripheralQualifier: b0 >> 5,
    peripheralDeviceType: b0 & 0x1f,
    deviceTypeName: peripheralDeviceTypeName(b0 & 0x1f),
    removable: ((data[1] ?? 0) & 0x80) !== 0,
    version: data[2] ?? 0,
    responseDataFormat: (data[3] ?? 0) & 0x0f,
    additionalLength,
    thirdPartyCopy: end > 5 && ((raw[5] ?? 0) & 0x08) !== 0,
    protect: end > 5 && ((raw[5] ?? 0) & 0x01) !== 0,
    commandQueueing: end > 7 && ((raw[7] ?? 0) & 0x02) !== 0,
    vendor: asciiField(raw, 8, 16),
    product: asciiField(raw, 16, 32),
    revision: asciiField(raw, 32, 36),
    truncated: end < 36,
    raw,
  };
}

/** Well-known VPD page codes (SPC-4 §7.8, SBC-3 VPD pages). */
export const VpdPage = {
  SupportedPages: 0x00,
  UnitSerialNumber: 0x80,
  DeviceIdentification: 0x83,
  ExtendedInquiry: 0x86,
  AtaInformation: 0x89,
  BlockLimits: 0xb0,
  BlockDeviceCharacteristics: 0xb1,
  LogicalBlockProvisioning: 0xb2,
} as const;
export type VpdPage = (typeof VpdPage)[keyof typeof VpdPage];

/** A VPD page as returned: header fields plus its payload (bytes after the 4-byte header). */
export interface VpdPageData {
  peripheralQualifier: number;
  peripheralDeviceType: number;
  pageCode: number;
  /** PAGE LENGTH as declared by the device. */
  pageLength: number;
  /** The payload, bounded by both the declared page length and the bytes received. */
  payload: Uint8Array;
  /** True when the device declared more bytes than it returned (ask with a larger allocation length). */
  truncated: boolean;
}

/**
 * Decodes the common VPD header (SPC-4 §7.8.1). When `expectedPage` is given, a
 * different page code is a ParseError: some devices ignore EVPD and return
 * standard INQUIRY data, which would otherwise be misread as a VPD page.
 */
export function decodeVpdPage(data: Uint8Array, expectedPage?: number): VpdPageData {
  if (data.length < 4) {
    throw new ParseError('VPD page', `${data.length} bytes received, the 4-byte header is incomplete`);
  }
  const pageCode = data[1] ?? 0;
  if (expectedPage !== undefined && pageCode !== expectedPage) {
    throw new ParseError(
      'VPD page',
      `page 0x${hexByte(expectedPage)} was requested but the device returned page 0x${hexByte(pageCode)} (it may not support EVPD)`,
    );
  }
  // Page 0x83 and others use a 2-byte PAGE LENGTH (SPC-4 §7.8.1); byte 2 is 0 in old 1-byte pages.
  const pageLength = getU16(data, 2);
  const end = Math.min(data.length, 4 + pageLength);
  return {
    peripheralQualifier: (data[0] ?? 0) >> 5,
    peripheralDeviceType: (data[0] ?? 0) & 0x1f,
    pageCode,
    pageLength,
    payload: data.subarray(4, end),
    truncated: data.length < 4 + pageLength,
  };
}

/** VPD 0x00: page codes the device claims to support (SPC-4 §7.8, Supported VPD Pages), in the order listed. */
export function decodeSupportedVpdPages(data: Uint8Array): number[] {
  return Array.from(decodeVpdPage(data, VpdPage.SupportedPages).payload);
}

/** VPD 0x80: unit serial number (SPC-4 §7.8, Unit Serial Number), trimmed; "" when the device reports none. */
export function decodeUnitSerialNumber(data: Uint8Array): string {
  const page = decodeVpdPage(data, VpdPage.UnitSerialNumber);
  return asciiField(page.payload, 0, page.payload.length);
}

const DESIGNATOR_TYPES: Record<number, string> = {
  0x0: 'vendor-specific',
  0x1: 't10-vendor-id',
  0x2: 'eui-64',
  0x3: 'naa',
  0x4: 'relative-target-port',
  0x5: 'target-port-group',
  0x6: 'logical-unit-group',
  0x7: 'md5-logical-unit',
  0x8: 'scsi-name-string',
  0x9: 'protocol-specific-port',
  0xa: 'uuid',
};

const ASSOCIATIONS = ['logical-unit', 'target-port', 'target-device', 'reserved'] as const;

/** One designation descriptor of VPD 0x83 (SPC-4 §7.8.6). */
export interface Designator {
  /** CODE SET: 1 binary, 2 ASCII, 3 UTF-8. */
  codeSet: number;
  /** PROTOCOL IDENTIFIER, when PIV is set and the association is a port or device. */
  protocolIdentifier?: number;
  association: (typeof ASSOCIATIONS)[number];
  designatorType: number;
  designatorTypeName: string;
  /** The designator bytes. */
  value: Uint8Array;
  /** Text for ASCII/UTF-8 designators, lowercase hex for binary ones. */
  text: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * VPD 0x83: device identification designators (SPC-4 §7.8.6). A descriptor cut
 * short by the end of the data is left out, never read past the bytes received.
 */
export function decodeDeviceIdentification(data: Uint8Array): Designator[] {
  const page = decodeVpdPage(data, VpdPage.DeviceIdentification);
  const p = page.payload;
  const designators: Designator[] = [];
  let offset = 0;
  while (offset + 4 <= p.length) {
    const b0 = p[offset] ?? 0;
    const b1 = p[offset + 1] ?? 0;
    const length = p[offset + 3] ?? 0;
    const valueEnd = offset + 4 + length;
    if (valueEnd > p.length) break;
    const value = p.subarray(offset + 4, valueEnd);
    const codeSet = b0 & 0x0f;
    const association = ASSOCIATIONS[(b1 >> 4) & 0x03] ?? 'reserved';
    const designatorType = b1 & 0x0f;
    const d: Designator = {
      codeSet,
      association,
      designatorType,
      designatorTypeName: DESIGNATOR_TYPES[designatorType] ?? 'reserved',
      value,
      text: codeSet === 2 ? asciiField(value, 0, value.length) : codeSet === 3 ? utf8.decode(value).replace(/\0+$/, '') : hex(value),
    };
    // PIV (SPC-4 §7.8.6): the protocol identifier is meaningful only for port/device associations.
    if ((b1 & 0x80) !== 0 && association !== 'logical-unit') d.protocolIdentifier = b0 >> 4;
    designators.push(d);
    offset = valueEnd;
  }
  return designators;
}

/**
 * VPD 0xB0: block limits (SBC-3, Block Limits VPD page). Lengths are in logical blocks;
 * 0 means "not reported / no limit" for the transfer and unmap fields. Fields
 * the device did not return are undefined.
 */
export interface BlockLimits {
  writeSameNonZero?: boolean;
  maximumCompareAndWriteLength?: number;
  optimalTransferLengthGranularity?: number;
  maximumTransferLength?: number;
  optimalTransferLength?: number;
  maximumPrefetchLength?: number;
  maximumUnmapLbaCount?: number;
  maximumUnmapBlockDescriptorCount?: number;
  optimalUnmapGranularity?: number;
  /** Present only when UGAVALID is set. */
  unmapGranularityAlignment?: number;
  maximumWriteSameLength?: number;
  truncated: boolean;
}

/** Decodes VPD page B0h, Block Limits (SBC-3, Block Limits VPD page); throws ParseError on a malformed page. */
export function decodeBlockLimits(data: Uint8Array): BlockLimits {
  const page = decodeVpdPage(data, VpdPage.BlockLimits);
  // Offsets below are page offsets; the payload starts at page byte 4.
  const p = page.payload;
  const has = (pageOffset: number, size: number): boolean => pageOffset - 4 + size <= p.length;
  const u16 = (o: number): number => getU16(p, o - 4);
  const u32 = (o: number): number => getU32(p, o - 4);
  const out: BlockLimits = { truncated: page.truncated };
  if (has(4, 1)) out.writeSameNonZero = ((p[0] ?? 0) & 0x01) !== 0;
  if (has(5, 1)) out.maximumCompareAndWriteLength = p[1] ?? 0;
  if (has(6, 2)) out.optimalTransferLengthGranularity = u16(6);
  if (has(8, 4)) out.maximumTransferLength = u32(8);
  if (has(12, 4)) out.optimalTransferLength = u32(12);
  if (has(16, 4)) out.maximumPrefetchLength = u32(16);
  if (has(20, 4)) out.maximumUnmapLbaCount = u32(20);
  if (has(24, 4)) out.maximumUnmapBlockDescriptorCount = u32(24);
  if (has(28, 4)) out.optimalUnmapGranularity = u32(28);
  if (has(32, 4)) {
    const v = u32(32);
    if (v >= 0x8000_0000) out.unmapGranularityAlignment = v - 0x8000_0000;
  }
  if (has(36, 8)) {
    const v = getU64(p, 36 - 4);
    if (v !== undefined) out.maximumWriteSameLength = v;
  }
  return out;
}

const FORM_FACTORS = ['not-reported', '5.25in', '3.5in', '2.5in', '1.8in', 'less-than-1.8in'] as const;
/** NOMINAL FORM FACTOR of the Block Device Characteristics VPD page (SBC-3). */
export type NominalFormFactor = (typeof FORM_FACTORS)[number] | 'reserved';

/** VPD 0xB1: block device characteristics (SBC-3, Block Device Characteristics VPD page). */
export interface BlockDeviceCharacteristics {
  /** MEDIUM ROTATION RATE raw value: 0 not reported, 1 non-rotating (solid state), 0x401-0xFFFE rpm. */
  mediumRotationRate?: number;
  /** 'solid-state' for 1, rpm for 0x401-0xFFFE, undefined otherwise. */
  rotation?: 'solid-state' | { rpm: number };
  productType?: number;
  nominalFormFactor?: NominalFormFactor;
  /** FUAB / VBULS (SBC-3 r36+), when returned. */
  forceUnitAccessBehavior?: boolean;
  verifyByteCheckUnmappedLbaSupported?: boolean;
  truncated: boolean;
}

/** Decodes VPD page B1h, Block Device Characteristics (SBC-3, Block Device Characteristics VPD page); throws ParseError on a malformed page. */
export function decodeBlockDeviceCharacteristics(data: Uint8Array): BlockDeviceCharacteristics {
  const page = decodeVpdPage(data, VpdPage.BlockDeviceCharacteristics);
  const p = page.payload;
  const out: BlockDeviceCharacteristics = { truncated: page.truncated };
  if (p.length >= 2) {
    const rate = getU16(p, 0);
    out.mediumRotationRate = rate;
    if (rate === 1) out.rotation = 'solid-state';
    else if (rate >= 0x401 && rate <= 0xfffe) out.rotation = { rpm: rate };
  }
  if (p.length >= 3) out.productType = p[2] ?? 0;
  if (p.length >= 4) out.nominalFormFactor = FORM_FACTORS[(p[3] ?? 0) & 0x0f] ?? 'reserved';
  if (p.length >= 5) {
    out.forceUnitAccessBehavior = ((p[4] ?? 0) & 0x02) !== 0;
    out.verifyByteCheckUnmappedLbaSupported = ((p[4] ?? 0) & 0x01) !== 0;
  }
  return out;
}
