/**
 * VPD pages by sg_inq's names (sg3_utils 1.46, sg_inq.c `vpd_pg[]`): `-p sn`,
 * `-p di`, `-p bl`, ... and the decoding of every page the core decodes.
 * Page codes: SPC-4 §7.8 and SBC-3 §6.6 (VPD parameters).
 */
import { decodeBlockDeviceCharacteristics, decodeBlockLimits, decodeDeviceIdentification, decodeSupportedVpdPages, decodeUnitSerialNumber } from '@usbms/core';
import { usageError } from './exit.js';
import { hex2 } from './format.js';
import { parseCount } from './units.js';

export interface VpdPageName {
  code: number;
  /** sg_inq's abbreviation. */
  abbrev: string;
  name: string;
  /** The core's decoder, for the pages it knows. */
  decode?: (bytes: Uint8Array) => unknown;
}

/** sg_inq 1.46's page names (its `sinq` pseudo-page, standard INQUIRY, is `usbms inquiry --no-vpd`). */
export const VPD_PAGES: readonly VpdPageName[] = [
  { code: 0x00, abbrev: 'sv', name: 'Supported VPD pages', decode: decodeSupportedVpdPages },
  { code: 0x80, abbrev: 'sn', name: 'Unit serial number', decode: decodeUnitSerialNumber },
  { code: 0x83, abbrev: 'di', name: 'Device identification', decode: decodeDeviceIdentification },
  { code: 0x84, abbrev: 'sii', name: 'Software interface identification' },
  { code: 0x85, abbrev: 'mna', name: 'Management network addresses' },
  { code: 0x86, abbrev: 'ei', name: 'Extended inquiry data' },
  { code: 0x87, abbrev: 'mpp', name: 'Mode page policy' },
  { code: 0x88, abbrev: 'sp', name: 'SCSI ports' },
  { code: 0x89, abbrev: 'ai', name: 'ATA information (SAT)' },
  { code: 0x8a, abbrev: 'po', name: 'Power condition' },
  { code: 0x8d, abbrev: 'psm', name: 'Power consumption' },
  { code: 0x90, abbrev: 'pslu', name: 'Protocol-specific logical unit information' },
  { code: 0x91, abbrev: 'pspo', name: 'Protocol-specific port information' },
  { code: 0x92, abbrev: 'sfs', name: 'SCSI Feature sets' },
  { code: 0xb0, abbrev: 'bl', name: 'Block limits (SBC)', decode: decodeBlockLimits },
  { code: 0xb1, abbrev: 'bdc', name: 'Block device characteristics (SBC)', decode: decodeBlockDeviceCharacteristics },
  { code: 0xb2, abbrev: 'lbpv', name: 'Logical block provisioning (SBC)' },
  { code: 0xb3, abbrev: 'ref', name: 'Referrals (SBC)' },
  { code: 0xb4, abbrev: 'sbl', name: 'Supported block lengths and protection types (SBC)' },
  { code: 0xb5, abbrev: 'bdce', name: 'Block device characteristics extension (SBC)' },
  { code: 0xb7, abbrev: 'ble', name: 'Block limits extension (SBC)' },
  { code: 0xb8, abbrev: 'fp', name: 'Format presets' },
  { code: 0xb9, abbrev: 'cpr', name: 'Concurrent positioning ranges (SBC)' },
];

/** `-p` value: an sg_inq abbreviation (`sn`), or a page number (`0x80`, `128`, `80h`). */
export function parseVpdPage(text: string): number {
  const byName = VPD_PAGES.find((p) => p.abbrev === text.trim().toLowerCase());
  if (byName !== undefined) return byName.code;
  const n = parseCount(text);
  if (n === undefined || n > 0xff) {
    throw usageError(`--page takes a VPD page name (${VPD_PAGES.map((p) => p.abbrev).join(', ')}) or number 0-255 (0x80), got "${text}"`);
  }
  return n;
}

export function vpdPageName(code: number): string {
  const page = VPD_PAGES.find((p) => p.code === code);
  if (page !== undefined) return `${page.name} [${page.abbrev}]`;
  return code >= 0xc0 ? 'vendor specific' : 'unknown';
}

/** "0x80 Unit serial number [sn]". */
export function describeVpdPage(code: number): string {
  return `0x${hex2(code)} ${vpdPageName(code)}`;
}

/** The decoded page, or undefined when the core has no decoder for it (shown as hex). */
export function decodeVpd(code: number, bytes: Uint8Array): unknown {
  return VPD_PAGES.find((p) => p.code === code)?.decode?.(bytes);
}
