/**
 * MODE SENSE(6)/(10) of a simulated logical unit (SPC-4 §6.11/§6.12): the mode parameter header
 * with the WP and DPOFUA bits, the short LBA block descriptor, and the mode pages the unit keeps
 * (Read-Write Error Recovery, Caching with WCE, Informational Exceptions Control).
 */

import { be16, dataIn, EMPTY, fail, type TargetPlan } from './scsi-plan.js';
import type { SimLogicalUnit } from './scsi-target.js';
import { Sense } from './sense.js';

/** Pages returned for page code 3Fh (all pages), in page-code order. */
const ALL_PAGES = [0x01, 0x08, 0x1c] as const;

/** Mode pages (SPC-4 §7.5, SBC-3 §6.4), current/default values. `changeable` = all-zero masks. */
function modePage(lu: SimLogicalUnit, page: number, changeable: boolean): Uint8Array | undefined {
  switch (page) {
    case 0x01: {
      // Read-Write Error Recovery (SBC-3 §6.4.7): AWRE set, as the captured QEMU disk reports.
      const d = new Uint8Array(12);
      d[0] = 0x01;
      d[1] = 0x0a;
      if (!changeable) d[2] = 0x80;
      return d;
    }
    case 0x08: {
      // Caching, SBC-3 §6.4.5: WCE is bit 2 of byte 2.
      const d = new Uint8Array(20);
      d[0] = 0x08;
      d[1] = 0x12;
      if (!changeable && lu.writeCacheEnabled) d[2] = 0x04;
      return d;
    }
    case 0x1c: {
      // Informational Exceptions Control, SPC-4 §7.5.9.
      const d = new Uint8Array(12);
      d[0] = 0x1c;
      d[1] = 0x0a;
      return d;
    }
    default:
      return undefined;
  }
}

/** MODE SENSE(6) (`ten` false) or MODE SENSE(10) (`ten` true). */
export function planModeSense(lu: SimLogicalUnit, cdb: Uint8Array, ten: boolean): TargetPlan {
  const dbd = ((cdb[1] ?? 0) & 0x08) !== 0;
  const pc = (cdb[2] ?? 0) >> 6;
  const page = (cdb[2] ?? 0) & 0x3f;
  const subpage = cdb[3] ?? 0;
  const allocation = ten ? be16(cdb, 7) : (cdb[4] ?? 0);
  if (pc === 3) return fail(lu, Sense.savingNotSupported());
  if (subpage !== 0 && !(page === 0x3f && subpage === 0xff)) return fail(lu, Sense.invalidFieldInCdb(3));
  const pages: Uint8Array[] = [];
  if (page === 0x3f) {
    for (const p of ALL_PAGES) pages.push(modePage(lu, p, pc === 1) ?? EMPTY);
  } else {
    const p = modePage(lu, page, pc === 1);
    if (!p) return fail(lu, Sense.invalidFieldInCdb(2, 5));
    pages.push(p);
  }
  // Short LBA mode parameter block descriptor (SBC-3 §6.4.2.2: NUMBER OF LOGICAL BLOCKS in
  // bytes 0-3, FFFFFFFFh when larger; LOGICAL BLOCK LENGTH in bytes 5-7), unless DBD or no medium.
  let descriptor = EMPTY;
  if (!dbd && lu.mediumPresent) {
    descriptor = new Uint8Array(8);
    new DataView(descriptor.buffer).setUint32(0, Math.min(lu.blocks, 0xffffffff), false);
    descriptor[5] = (lu.blockSize >> 16) & 0xff;
    descriptor[6] = (lu.blockSize >> 8) & 0xff;
    descriptor[7] = lu.blockSize & 0xff;
  }
  const headerLength = ten ? 8 : 4;
  const pagesLength = pages.reduce((n, p) => n + p.length, 0);
  const d = new Uint8Array(headerLength + descriptor.length + pagesLength);
  // DEVICE-SPECIFIC PARAMETER (SBC-3 §6.4.1): WP bit 7, DPOFUA bit 4 (we honour FUA).
  const deviceSpecific = (lu.writeProtected ? 0x80 : 0) | 0x10;
  if (ten) {
    const modeDataLength = d.length - 2;
    d[0] = (modeDataLength >> 8) & 0xff;
    d[1] = modeDataLength & 0xff;
    d[3] = deviceSpecific;
    d[7] = descriptor.length;
  } else {
    d[0] = Math.min(0xff, d.length - 1);
    d[2] = deviceSpecific;
    d[3] = descriptor.length;
  }
  d.set(descriptor, headerLength);
  let at = headerLength + descriptor.length;
  for (const p of pages) {
    d.set(p, at);
    at += p.length;
  }
  return dataIn(d, allocation);
}
