/**
 * What a simulated logical unit says about itself (SPC-4): standard INQUIRY data, the VPD pages
 * (supported pages, unit serial number, device identification, Block Limits, Block Device
 * Characteristics) and REPORT LUNS. The facts come from `SimLogicalUnit`'s options (scsi-target.ts).
 */

import { ascii, be16, be32, dataIn, fail, type TargetContext, type TargetPlan } from './scsi-plan.js';
import type { SimLogicalUnit } from './scsi-target.js';
import { Sense } from './sense.js';

/** INQUIRY, SPC-4 §6.4: standard data (EVPD=0) or one VPD page (EVPD=1). */
export function planInquiry(lu: SimLogicalUnit, cdb: Uint8Array, ctx: TargetContext): TargetPlan {
  const evpd = ((cdb[1] ?? 0) & 0x01) !== 0;
  const page = cdb[2] ?? 0;
  const allocation = be16(cdb, 3);
  const lunPresent = lu.index < ctx.lunCount;
  // PERIPHERAL QUALIFIER 011b + type 1Fh: no logical unit here (SPC-4 §6.4.2).
  const byte0 = lunPresent ? lu.peripheralType & 0x1f : 0x7f;
  if (!evpd) {
    // SPC-4 §6.4.1: PAGE CODE must be zero when EVPD is zero.
    if (page !== 0) return fail(lu, Sense.invalidFieldInCdb(2));
    if (lu.inquiryData && lunPresent) return dataIn(lu.inquiryData.slice(), allocation);
    const d = new Uint8Array(36);
    d[0] = byte0;
    d[1] = lu.removable ? 0x80 : 0x00;
    d[2] = lu.version;
    d[3] = 0x02; // RESPONSE DATA FORMAT 2
    d[4] = 36 - 5; // ADDITIONAL LENGTH
    d.set(ascii(lu.vendor, 8), 8);
    d.set(ascii(lu.product, 16), 16);
    d.set(ascii(lu.revision, 4), 32);
    return dataIn(d, allocation);
  }
  if (!lu.vpdPages) return fail(lu, Sense.invalidFieldInCdb(1, 0));
  const body = vpdPage(lu, page);
  if (!body) return fail(lu, Sense.invalidFieldInCdb(2));
  const d = new Uint8Array(4 + body.length);
  d[0] = byte0;
  d[1] = page;
  d[2] = (body.length >> 8) & 0xff;
  d[3] = body.length & 0xff;
  d.set(body, 4);
  return dataIn(d, allocation);
}

/** VPD page bodies (after the 4-byte header), SPC-4 §7.8 and SBC-3 §6.5. */
function vpdPage(lu: SimLogicalUnit, page: number): Uint8Array | undefined {
  if (!lu.vpdPageList.includes(page)) return undefined;
  switch (page) {
    case 0x00:
      return Uint8Array.from(lu.vpdPageList);
    case 0x80:
      return ascii(lu.serialNumber, lu.serialNumber.length);
    case 0x83: {
      // One T10 vendor ID based designator (type 1, ASCII code set 2): vendor + product + serial.
      const id = new Uint8Array(8 + 16 + lu.serialNumber.length);
      id.set(ascii(lu.vendor, 8), 0);
      id.set(ascii(lu.product, 16), 8);
      id.set(ascii(lu.serialNumber, lu.serialNumber.length), 24);
      const d = new Uint8Array(4 + id.length);
      d[0] = 0x02;
      d[1] = 0x01;
      d[3] = id.length;
      d.set(id, 4);
      return d;
    }
    case 0xb0: {
      // Block Limits, SBC-3 §6.5.3: page length 0x3C.
      const d = new Uint8Array(0x3c);
      const v = new DataView(d.buffer);
      v.setUint32(8 - 4, lu.maxTransferLength >>> 0, false); // MAXIMUM TRANSFER LENGTH (bytes 8-11)
      v.setUint32(12 - 4, lu.optimalTransferLength >>> 0, false); // OPTIMAL TRANSFER LENGTH (bytes 12-15)
      return d;
    }
    case 0xb1: {
      // Block Device Characteristics, SBC-3 §6.5.2: MEDIUM ROTATION RATE (bytes 4-5).
      const d = new Uint8Array(0x3c);
      d[0] = (lu.rotationRate >> 8) & 0xff;
      d[1] = lu.rotationRate & 0xff;
      return d;
    }
    default:
      return undefined;
  }
}

/** REPORT LUNS, SPC-4 §6.33: every LUN the device has, single-level peripheral addressing. */
export function planReportLuns(lu: SimLogicalUnit, cdb: Uint8Array, ctx: TargetContext): TargetPlan {
  if (!lu.supportsReportLuns) return fail(lu, Sense.invalidOpcode());
  const allocation = be32(cdb, 6);
  // SPC-4 §6.33: an ALLOCATION LENGTH below 16 is an invalid field.
  if (allocation < 16) return fail(lu, Sense.invalidFieldInCdb(6));
  const d = new Uint8Array(8 + 8 * ctx.lunCount);
  new DataView(d.buffer).setUint32(0, 8 * ctx.lunCount, false);
  for (let i = 0; i < ctx.lunCount; i++) {
    // Peripheral device addressing, single level: LUN in byte 1 (SAM-5 §4.7).
    d[8 + 8 * i + 1] = i;
  }
  return dataIn(d, allocation);
}
