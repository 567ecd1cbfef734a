/**
 * Block commands of a simulated logical unit (SBC-3): READ/WRITE(6/10/16), VERIFY(10),
 * SYNCHRONIZE CACHE, READ CAPACITY(10/16) and READ FORMAT CAPACITIES, with the media-access
 * precondition they share (medium present, started, not becoming ready), the range and
 * transfer-length checks, and the medium-error faults. The blocks themselves and the write
 * cache belong to `SimLogicalUnit` (scsi-target.ts); the opcode dispatch is there too.
 */

import { be16, be32, dataIn, fail, ScsiStatus, type TargetContext, type TargetPlan } from './scsi-plan.js';
import type { SimLogicalUnit } from './scsi-target.js';
import { Sense } from './sense.js';

/**
 * Largest READ/WRITE/VERIFY the simulator executes in one command (256 MiB), whatever
 * MAXIMUM TRANSFER LENGTH says: a hostile CDB must not make it allocate gigabytes.
 */
const SIM_MAX_TRANSFER_BYTES = 256 * 1024 * 1024;

/** Media-access precondition: medium present, started, not "becoming ready". `undefined` = ready. */
export function notReady(lu: SimLogicalUnit, ctx: TargetContext): TargetPlan | undefined {
  if (!lu.mediumPresent) return fail(lu, Sense.mediumNotPresent());
  if (lu.stopped) return fail(lu, Sense.initializingCommandRequired());
  const sense = ctx.takeNotReady();
  if (sense) return fail(lu, sense);
  return undefined;
}

/** Common checks of READ/WRITE/VERIFY: range (SBC-3 §4.5) and the Block Limits maximum. */
function checkRange(lu: SimLogicalUnit, lba: number, count: number, lengthByte: number): TargetPlan | undefined {
  if (lba + count > lu.blocks) return fail(lu, Sense.lbaOutOfRange(lba));
  if (lu.maxTransferLength > 0 && count > lu.maxTransferLength) return fail(lu, Sense.invalidFieldInCdb(lengthByte));
  if (count * lu.blockSize > SIM_MAX_TRANSFER_BYTES) return fail(lu, Sense.invalidFieldInCdb(lengthByte));
  return undefined;
}

/** READ(6/10/16): `lengthByte` is the CDB byte of TRANSFER LENGTH, for the sense field pointer. */
export function planRead(lu: SimLogicalUnit, lba: number, count: number, lengthByte: number, ctx: TargetContext): TargetPlan {
  const refused = notReady(lu, ctx) ?? checkRange(lu, lba, count, lengthByte);
  if (refused) return refused;
  if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
  const badLba = ctx.takeMediumError(lba, count, false);
  if (badLba !== undefined) return fail(lu, Sense.unrecoveredReadError(badLba));
  const data = lu.readBlocks(lba, count);
  ctx.countRead(data.length);
  return { dir: 'in', data, status: ScsiStatus.Good };
}

/** WRITE(6/10/16); `fua` = FORCE UNIT ACCESS (bypasses the volatile cache). */
export function planWrite(lu: SimLogicalUnit, lba: number, count: number, lengthByte: number, fua: boolean, ctx: TargetContext): TargetPlan {
  const refused = notReady(lu, ctx);
  if (refused) return refused;
  if (lu.writeProtected) return fail(lu, Sense.writeProtected());
  const bad = checkRange(lu, lba, count, lengthByte);
  if (bad) return bad;
  if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
  return {
    dir: 'out',
    length: count * lu.blockSize,
    complete: (data) => {
      const badLba = ctx.takeMediumError(lba, count, true);
      if (badLba !== undefined) {
        // Blocks before the bad one were written (SBC-3: INFORMATION = first failing LBA).
        if (badLba > lba) lu.writeBlocks(lba, data.subarray(0, (badLba - lba) * lu.blockSize), fua);
        lu.sense = Sense.writeError(badLba);
        return ScsiStatus.CheckCondition;
      }
      lu.writeBlocks(lba, data, fua);
      ctx.countWritten(data.length);
      return ScsiStatus.Good;
    },
  };
}

/** VERIFY(10), SBC-3 §5.33: medium verification only, or a byte compare with the data-out. */
export function planVerify(lu: SimLogicalUnit, cdb: Uint8Array, ctx: TargetContext): TargetPlan {
  const refused = notReady(lu, ctx);
  if (refused) return refused;
  const lba = be32(cdb, 2);
  const count = be16(cdb, 7);
  // SBC-3 §5.33: BYTCHK is bits 2:1 of byte 1; 00b = medium verification only, 01b = compare with data-out.
  const bytchk = ((cdb[1] ?? 0) >> 1) & 0x03;
  if (bytchk > 1) return fail(lu, Sense.invalidFieldInCdb(1, 2));
  const bad = checkRange(lu, lba, count, 7);
  if (bad) return bad;
  if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
  if (bytchk === 0) {
    const badLba = ctx.takeMediumError(lba, count, false);
    if (badLba !== undefined) return fail(lu, Sense.unrecoveredReadError(badLba));
    return { dir: 'none', status: ScsiStatus.Good };
  }
  return {
    dir: 'out',
    length: count * lu.blockSize,
    complete: (data) => {
      const badLba = ctx.takeMediumError(lba, count, false);
      if (badLba !== undefined) {
        lu.sense = Sense.unrecoveredReadError(badLba);
        return ScsiStatus.CheckCondition;
      }
      const medium = lu.readBlocks(lba, count);
      for (let i = 0; i < medium.length; i++) {
        if (medium[i] !== data[i]) {
          lu.sense = Sense.miscompare(i);
          return ScsiStatus.CheckCondition;
        }
      }
      return ScsiStatus.Good;
    },
  };
}

/** SYNCHRONIZE CACHE(10/16), SBC-3 §5.22: the whole cache is written back, whatever the range. */
export function planSynchronizeCache(lu: SimLogicalUnit, ctx: TargetContext): TargetPlan {
  if (!lu.supportsSynchronizeCache) return fail(lu, Sense.invalidOpcode());
  const refused = notReady(lu, ctx);
  if (refused) return refused;
  lu.flush();
  ctx.countFlush();
  return { dir: 'none', status: ScsiStatus.Good };
}

/** READ CAPACITY(10), SBC-3 §5.16. */
export function planReadCapacity10(lu: SimLogicalUnit, ctx: TargetContext): TargetPlan {
  const refused = notReady(lu, ctx);
  if (refused) return refused;
  const d = new Uint8Array(8);
  const v = new DataView(d.buffer);
  const last = lu.blocks - 1;
  // SBC-3 §5.16.2: FFFFFFFFh when the last LBA does not fit; the host then uses READ CAPACITY(16).
  v.setUint32(0, last > 0xfffffffe ? 0xffffffff : last >>> 0, false);
  v.setUint32(4, lu.blockSize, false);
  return { dir: 'in', data: d, status: ScsiStatus.Good };
}

/** READ CAPACITY(16), SBC-3 §5.17 (SERVICE ACTION IN(16), service action 10h). */
export function planReadCapacity16(lu: SimLogicalUnit, cdb: Uint8Array, ctx: TargetContext): TargetPlan {
  const refused = notReady(lu, ctx);
  if (refused) return refused;
  const d = new Uint8Array(32);
  const v = new DataView(d.buffer);
  v.setBigUint64(0, BigInt(lu.blocks - 1), false);
  v.setUint32(8, lu.blockSize, false);
  return dataIn(d, be32(cdb, 10));
}

/** READ FORMAT CAPACITIES (SFF-8070i / UFI): answered with or without a medium. */
export function planReadFormatCapacities(lu: SimLogicalUnit, cdb: Uint8Array): TargetPlan {
  if (!lu.supportsReadFormatCapacities) return fail(lu, Sense.invalidOpcode());
  const allocation = be16(cdb, 7);
  // SFF-8070i / UFI: capacity list header + current/maximum capacity descriptor.
  // Descriptor type 2 = formatted media, 3 = no media present (then the maximum capacity).
  const d = new Uint8Array(12);
  d[3] = 8;
  new DataView(d.buffer).setUint32(4, Math.min(lu.blocks, 0xffffffff) >>> 0, false);
  d[8] = lu.mediumPresent ? 0x02 : 0x03;
  d[9] = (lu.blockSize >> 16) & 0xff;
  d[10] = (lu.blockSize >> 8) & 0xff;
  d[11] = lu.blockSize & 0xff;
  return dataIn(d, allocation);
}
