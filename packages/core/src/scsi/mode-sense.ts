import { ParseError } from '../errors.js';
import { getU16, getU24, getU32, getU64Safe } from './bytes.js';

/** Mode page codes (SPC-4 §7.5, SBC-3 mode pages). */
export const ModePage = {
  ReadWriteErrorRecovery: 0x01,
  DisconnectReconnect: 0x02,
  FormatDevice: 0x03,
  RigidDiskGeometry: 0x04,
  FlexibleDisk: 0x05,
  VerifyErrorRecovery: 0x07,
  Caching: 0x08,
  Control: 0x0a,
  PowerCondition: 0x1a,
  InformationalExceptionsControl: 0x1c,
  CdCapabilities: 0x2a,
  AllPages: 0x3f,
} as const;
export type ModePage = (typeof ModePage)[keyof typeof ModePage];

/** A block descriptor of MODE SENSE data (short or long LBA format; SPC-4 §7.5 mode parameters). */
export interface ModeBlockDescriptor {
  /** Density code (short descriptors only; 0 for long LBA descriptors). */
  densityCode: number;
  /** NUMBER OF LOGICAL BLOCKS (0 may mean "all remaining"). */
  blocks: number;
  blockLength: number;
}

/** One mode page of MODE SENSE data (SPC-4 §7.5), undecoded beyond its page code, subpage and length. */
export interface ModePageData {
  pageCode: number;
  /** Subpage code, 0 for page_0 format. */
  subpageCode: number;
  /** PS: the page can be saved. */
  parametersSaveable: boolean;
  /** The page's parameter bytes after its 2-byte (or 4-byte, SPF) header, bounded by the data received. */
  data: Uint8Array;
  truncated: boolean;
}

/** Caching mode page 0x08 (SBC-3, Caching mode page). */
export interface CachingPage {
  /** WCE: write cache enabled (writes may complete before reaching the medium). */
  writeCacheEnabled: boolean;
  /** RCD: read cache disabled. */
  readCacheDisabled: boolean;
}

/** Decoded MODE SENSE(6)/(10) parameter data (SPC-4 §7.5): header, block descriptors, pages. */
export interface ModeSenseData {
  /** MODE DATA LENGTH as declared. */
  modeDataLength: number;
  mediumType: number;
  /** DEVICE-SPECIFIC PARAMETER byte. */
  deviceSpecificParameter: number;
  /** WP bit of the device-specific parameter (SBC-3, mode parameter header): the medium is write-protected. */
  writeProtected: boolean;
  /** DPOFUA bit: the device honours DPO and FUA. */
  dpoFua: boolean;
  blockDescriptors: ModeBlockDescriptor[];
  pages: ModePageData[];
  /** Decoded caching page, when page 0x08 was returned with its WCE/RCD byte. */
  caching?: CachingPage;
  /** True when the declared mode data length exceeds the bytes received. */
  truncated: boolean;
}

function decodeModeData(
  what: string,
  data: Uint8Array,
  headerLength: 4 | 8,
  modeDataLength: number,
  mediumType: number,
  deviceSpecific: number,
  longLba: boolean,
  blockDescriptorLength: number,
): ModeSenseData {
  // MODE DATA LENGTH excludes itself (1 byte in MODE SENSE(6), 2 in (10)); SPC-4 §7.5.
  const declaredEnd = modeDataLength + (headerLength === 4 ? 1 : 2);
  const end = Math.min(data.length, declaredEnd);
  const blockDescriptors: ModeBlockDescriptor[] = [];
  const descriptorSize = longLba ? 16 : 8;
  const descriptorsEnd = Math.min(end, headerLength + blockDescriptorLength);
  for (let o = headerLength; o + descriptorSize <= descriptorsEnd; o += descriptorSize) {
    blockDescriptors.push(
      longLba
        ? { densityCode: 0, blocks: getU64Safe(data, o, what, 'NUMBER OF LOGICAL BLOCKS'), blockLength: getU32(data, o + 12) }
        : { densityCode: data[o] ?? 0, blocks: getU24(data, o + 1), blockLength: getU24(data, o + 5) },
    );
  }
  const pages: ModePageData[] = [];
  let truncated = data.length < declaredEnd;
  let o = headerLength + blockDescriptorLength;
  while (o + 2 <= end) {
    const b0 = data[o] ?? 0;
    const spf = (b0 & 0x40) !== 0;
    // SPC-4 §7.5, mode page formats: page_0 format has a 1-byte length at byte 1; sub_page format a 2-byte length at bytes 2-3.
    const headerSize = spf ? 4 : 2;
    if (o + headerSize > end) {
      truncated = true;
      break;
    }
    const pageLength = spf ? getU16(data, o + 2) : (data[o + 1] ?? 0);
    const dataStart = o + headerSize;
    const dataEnd = Math.min(end, dataStart + pageLength);
    pages.push({
      pageCode: b0 & 0x3f,
      subpageCode: spf ? (data[o + 1] ?? 0) : 0,
      parametersSaveable: (b0 & 0x80) !== 0,
      data: data.subarray(dataStart, dataEnd),
      truncated: dataEnd < dataStart + pageLength,
    });
    if (dataEnd < dataStart + pageLength) truncated = true;
    o = dataStart + pageLength;
  }
  const out: ModeSenseData = {
    modeDataLength,
    mediumType,
    deviceSpecificParameter: deviceSpecific,
    writeProtected: (deviceSpecific & 0x80) !== 0,
    dpoFua: (deviceSpecific & 0x10) !== 0,
    blockDescriptors,
    pages,
    truncated,
  };
  const cachingPage = pages.find((p) => p.pageCode === ModePage.Caching && p.subpageCode === 0);
  if (cachingPage !== undefined && cachingPage.data.length >= 1) {
    const flags = cachingPage.data[0] ?? 0;
    out.caching = { writeCacheEnabled: (flags & 0x04) !== 0, readCacheDisabled: (flags & 0x01) !== 0 };
  }
  return out;
}

/** MODE SENSE(6) parameter data: 4-byte header (SPC-4 §7.5, mode parameter header(6)). */
export function decodeModeSense6(data: Uint8Array): ModeSenseData {
  const what = 'MODE SENSE(6) data';
  if (data.length < 4) {
    throw new ParseError(what, `${data.length} bytes received, the 4-byte mode parameter header is incomplete`);
  }
  return decodeModeData(what, data, 4, data[0] ?? 0, data[1] ?? 0, data[2] ?? 0, false, data[3] ?? 0);
}

/** MODE SENSE(10) parameter data: 8-byte header (SPC-4 §7.5, mode parameter header(10)). */
export function decodeModeSense10(data: Uint8Array): ModeSenseData {
  const what = 'MODE SENSE(10) data';
  if (data.length < 8) {
    throw new ParseError(what, `${data.length} bytes received, the 8-byte mode parameter header is incomplete`);
  }
  const longLba = ((data[4] ?? 0) & 0x01) !== 0;
  return decodeModeData(what, data, 8, getU16(data, 0), data[2] ?? 0, data[3] ?? 0, longLba, getU16(data, 6));
}
