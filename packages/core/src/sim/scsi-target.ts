/**
 * One simulated logical unit: a SCSI block device (SPC-4 / SBC-3) over a backing store, with a
 * volatile write cache. This file owns the unit's options and state (medium, write cache, stop,
 * removal lock, pending UNIT ATTENTION, sense) and the opcode dispatch of `plan()`, with the small
 * state commands (REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL) and the vendor
 * hook. The command groups answer in their own files: block I/O and capacity (scsi-block-io.ts),
 * INQUIRY/VPD/REPORT LUNS (scsi-inquiry.ts), MODE SENSE (scsi-mode-pages.ts); the plan vocabulary
 * they share is scsi-plan.ts. It encodes its own responses (never imports the host's decoders),
 * modelled on what the captured devices in scsi/fixtures return (QEMU usb-storage, the Linux
 * f_mass_storage gadget).
 */
import { InvalidArgumentError } from '../errors.js';
import {
  notReady,
  planRead,
  planReadCapacity10,
  planReadCapacity16,
  planReadFormatCapacities,
  planSynchronizeCache,
  planVerify,
  planWrite,
} from './scsi-block-io.js';
import { planInquiry, planReportLuns } from './scsi-inquiry.js';
import { planModeSense } from './scsi-mode-pages.js';
import {
  be16,
  be24,
  be32,
  be64,
  dataIn,
  EMPTY,
  fail,
  ScsiStatus,
  type SimVendorContext,
  type SimVendorResult,
  type TargetContext,
  type TargetPlan,
} from './scsi-plan.js';
import { encodeDescriptorSense, encodeFixedSense, Sense, type SimSense } from './sense.js';
import { RamStore, type SimBackingStore } from './store.js';

/** Configuration of one simulated LUN. Every field is optional. */
export interface SimLunOptions {
  /** INQUIRY T10 vendor identification, up to 8 ASCII chars (default "USBMS"). */
  vendor?: string;
  /** INQUIRY product identification, up to 16 chars (default "Sim Disk"). */
  product?: string;
  /** INQUIRY product revision level, up to 4 chars (default "1.00"). */
  revision?: string;
  /** Unit serial number (VPD 0x80); default "SIM000000" + LUN. */
  serialNumber?: string;
  /** PERIPHERAL DEVICE TYPE: 0x00 direct access block (default), 0x05 CD/DVD, 0x0e RBC. */
  peripheralType?: number;
  /** RMB bit: removable medium (default true, like USB sticks and card readers). */
  removable?: boolean;
  /** INQUIRY VERSION byte (default 0x06, SPC-4). */
  version?: number;
  /** Logical block size in bytes (default 512; 2048 for optical, 4096 for 4Kn). */
  blockSize?: number;
  /** Number of logical blocks (default 16384: 8 MiB at 512-byte blocks). */
  blocks?: number;
  /** Medium write-protected: MODE SENSE WP bit set, writes fail with 07/27/00. */
  writeProtected?: boolean;
  /** A medium is present (default true). false = an empty card-reader slot: NOT READY 3A/00. */
  mediumPresent?: boolean;
  /** Backing store (default: a sparse RAM store). */
  store?: SimBackingStore;
  /** Volatile write cache enabled (default true): writes stay in RAM until SYNCHRONIZE CACHE or FUA. */
  writeCache?: boolean;
  /** Dirty blocks held before the cache writes everything back on its own (default 8192). */
  writeCacheBlocks?: number;
  /** MAXIMUM TRANSFER LENGTH in blocks (Block Limits VPD); larger READ/WRITE fail 05/24/00. 0 = no limit. Default 65535. */
  maxTransferLength?: number;
  /** OPTIMAL TRANSFER LENGTH in blocks (Block Limits VPD, default 0 = not reported). */
  optimalTransferLength?: number;
  /** MEDIUM ROTATION RATE (VPD 0xB1): 1 = non-rotating (default). */
  rotationRate?: number;
  /** Answer INQUIRY VPD pages (default true). false rejects every page with 05/24/00, like the f_mass_storage gadget. */
  vpdPages?: boolean;
  /** VPD pages listed in page 00h and answered (default [0x00, 0x80, 0x83, 0xB0, 0xB1]). */
  vpdPageList?: number[];
  /** Raw standard INQUIRY data to return instead of the generated 36 bytes (e.g. a captured device's). */
  inquiryData?: Uint8Array;
  /** Support READ FORMAT CAPACITIES (default true; QEMU rejects it with 05/20/00). */
  readFormatCapacities?: boolean;
  /** Support REPORT LUNS (default true; the gadget rejects it with 05/20/00). */
  reportLuns?: boolean;
  /** Support READ CAPACITY(16) (default true). */
  readCapacity16?: boolean;
  /** Support SYNCHRONIZE CACHE(10)/(16) (default true; without it: ILLEGAL REQUEST 05/20/00, as on devices with no cache). */
  synchronizeCache?: boolean;
}

const Op = {
  TestUnitReady: 0x00,
  RequestSense: 0x03,
  Read6: 0x08,
  Write6: 0x0a,
  Inquiry: 0x12,
  ModeSense6: 0x1a,
  StartStopUnit: 0x1b,
  PreventAllow: 0x1e,
  ReadFormatCapacities: 0x23,
  ReadCapacity10: 0x25,
  Read10: 0x28,
  Write10: 0x2a,
  Verify10: 0x2f,
  SynchronizeCache10: 0x35,
  ModeSense10: 0x5a,
  Read16: 0x88,
  Write16: 0x8a,
  SynchronizeCache16: 0x91,
  ServiceActionIn16: 0x9e,
  ReportLuns: 0xa0,
} as const;

const KNOWN_OPCODES: ReadonlySet<number> = new Set(Object.values(Op));
/** Minimum CDB length per known opcode (SPC-4 §4.2.5: group code sizes). */
function cdbLengthFor(opcode: number): number {
  const group = opcode >> 5;
  if (group === 0) return 6;
  if (group === 1 || group === 2) return 10;
  if (group === 4) return 16;
  if (group === 5) return 12;
  return 1;
}

/** One simulated logical unit. Tests reach it through `sim.lun(n)`. */
export class SimLogicalUnit {
  readonly index: number;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  readonly serialNumber: string;
  readonly peripheralType: number;
  readonly removable: boolean;
  readonly version: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly store: SimBackingStore;
  readonly maxTransferLength: number;
  readonly optimalTransferLength: number;
  readonly rotationRate: number;
  readonly vpdPages: boolean;
  readonly vpdPageList: readonly number[];
  readonly inquiryData: Uint8Array | undefined;
  readonly supportsReadFormatCapacities: boolean;
  readonly supportsReportLuns: boolean;
  readonly supportsReadCapacity16: boolean;
  readonly supportsSynchronizeCache: boolean;
  readonly writeCacheBlocks: number;

  writeProtected: boolean;
  writeCacheEnabled: boolean;
  /** Medium present (false after eject or for an empty slot). */
  mediumPresent: boolean;
  /** Stopped by START STOP UNIT (START=0): media access fails 02/04/02 until started. */
  stopped = false;
  /** PREVENT ALLOW MEDIUM REMOVAL state. */
  removalPrevented = false;
  /** A pending UNIT ATTENTION (SPC-4 §5.14), reported once. */
  pendingUnitAttention: SimSense | undefined;
  /** Sense data of the last CHECK CONDITION, until REQUEST SENSE or the next command. */
  sense: SimSense | undefined;

  /** Dirty blocks of the volatile write cache, by LBA. */
  readonly #cache = new Map<number, Uint8Array>();

  constructor(index: number, options: SimLunOptions = {}) {
    this.index = index;
    this.vendor = options.vendor ?? 'USBMS';
    this.product = options.product ?? 'Sim Disk';
    this.revision = options.revision ?? '1.00';
    this.serialNumber = options.serialNumber ?? `SIM00000${index}`;
    this.peripheralType = options.peripheralType ?? 0x00;
    this.removable = options.removable ?? true;
    this.version = options.version ?? 0x06;
    this.blockSize = options.blockSize ?? 512;
    this.blocks = options.blocks ?? 16384;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1 || this.blockSize > 0xffffff) {
      throw new InvalidArgumentError(`LUN ${index}: block size ${this.blockSize} must be an integer 1..16777215`);
    }
    if (!Number.isSafeInteger(this.blocks) || this.blocks < 0 || !Number.isSafeInteger(this.blocks * this.blockSize)) {
      throw new InvalidArgumentError(`LUN ${index}: ${this.blocks} blocks of ${this.blockSize} bytes is not a representable capacity`);
    }
    this.store = options.store ?? new RamStore();
    this.maxTransferLength = options.maxTransferLength ?? 0xffff;
    this.optimalTransferLength = options.optimalTransferLength ?? 0;
    this.rotationRate = options.rotationRate ?? 1;
    this.vpdPages = options.vpdPages ?? true;
    this.vpdPageList = options.vpdPageList ?? [0x00, 0x80, 0x83, 0xb0, 0xb1];
    this.inquiryData = options.inquiryData?.slice();
    this.supportsReadFormatCapacities = options.readFormatCapacities ?? true;
    this.supportsReportLuns = options.reportLuns ?? true;
    this.supportsReadCapacity16 = options.readCapacity16 ?? true;
    this.supportsSynchronizeCache = options.synchronizeCache ?? true;
    this.writeCacheBlocks = options.writeCacheBlocks ?? 8192;
    this.writeProtected = options.writeProtected ?? false;
    this.writeCacheEnabled = options.writeCache ?? true;
    this.mediumPresent = options.mediumPresent ?? true;
  }

  // ---------------------------------------------------------------- medium

  /** Blocks as the host sees them (write cache over the store). */
  readBlocks(lba: number, count: number): Uint8Array {
    const bs = this.blockSize;
    const out = this.store.read(lba * bs, count * bs);
    const data = out.length === count * bs ? out : out.slice(0, count * bs);
    if (this.#cache.size > 0) {
      if (count <= this.#cache.size) {
        for (let i = 0; i < count; i++) {
          const block = this.#cache.get(lba + i);
          if (block) data.set(block, i * bs);
        }
      } else {
        for (const [at, block] of this.#cache) {
          if (at >= lba && at < lba + count) data.set(block, (at - lba) * bs);
        }
      }
    }
    return data;
  }

  /** Writes blocks; through the volatile cache unless it is disabled or `fua` (force unit access, SBC-3 §5.x) is set. */
  writeBlocks(lba: number, data: Uint8Array, fua = false): void {
    const bs = this.blockSize;
    const count = Math.floor(data.length / bs);
    if (this.writeCacheEnabled && !fua) {
      for (let i = 0; i < count; i++) this.#cache.set(lba + i, data.slice(i * bs, (i + 1) * bs));
      // A real cache drains on its own when full; here it writes everything back at once.
      if (this.#cache.size > this.writeCacheBlocks) this.#writeBack();
      return;
    }
    for (let i = 0; i < count; i++) this.#cache.delete(lba + i);
    this.store.write(lba * bs, data.subarray(0, count * bs));
  }

  #writeBack(): void {
    if (this.#cache.size === 0) return;
    const lbas = [...this.#cache.keys()].sort((a, b) => a - b);
    const bs = this.blockSize;
    let runStart = 0;
    for (let i = 1; i <= lbas.length; i++) {
      const prev = lbas[i - 1] ?? 0;
      if (i < lbas.length && lbas[i] === prev + 1) continue;
      const first = lbas[runStart] ?? 0;
      const n = i - runStart;
      const run = new Uint8Array(n * bs);
      for (let k = 0; k < n; k++) run.set(this.#cache.get(first + k) ?? EMPTY, k * bs);
      this.store.write(first * bs, run);
      runStart = i;
    }
    this.#cache.clear();
  }

  /** SYNCHRONIZE CACHE: writes dirty blocks back and flushes the store. */
  flush(): void {
    this.#writeBack();
    this.store.flush();
  }

  /** Blocks written by the host but not yet on the store. */
  get dirtyBlocks(): number {
    return this.#cache.size;
  }

  /** Power loss: the volatile cache is gone. */
  dropCache(): void {
    this.#cache.clear();
  }

  /** Inserts or removes the medium (a card in a reader slot). Insertion raises UNIT ATTENTION 28/00. */
  setMediumPresent(present: boolean): void {
    if (present === this.mediumPresent) return;
    if (!present) this.flush();
    this.mediumPresent = present;
    this.stopped = false;
    if (present) this.pendingUnitAttention = Sense.mediumChanged();
  }

  // --------------------------------------------------------------- commands

  /**
   * Decides what the device does for one CDB. Returns the plan for the data
   * stage; CHECK CONDITION plans have already recorded their sense.
   */
  plan(cdb: Uint8Array, ctx: TargetContext): TargetPlan | Promise<TargetPlan> {
    const opcode = cdb[0] ?? 0;
    // SPC-4 §4.5: sense data belongs to the previous command and is cleared by
    // the next one, except by REQUEST SENSE which reports it.
    if (opcode !== Op.RequestSense) this.sense = undefined;

    // SPC-4 §5.14 (unit attention): INQUIRY, REPORT LUNS and REQUEST SENSE are
    // not affected; every other command reports the pending condition once.
    if (this.pendingUnitAttention && opcode !== Op.Inquiry && opcode !== Op.ReportLuns && opcode !== Op.RequestSense) {
      const ua = this.pendingUnitAttention;
      this.pendingUnitAttention = undefined;
      return fail(this, ua);
    }
    if (cdb.length < cdbLengthFor(opcode) && KNOWN_OPCODES.has(opcode)) {
      // The CBW's bCBWCBLength is shorter than the command's CDB: fields are missing.
      return fail(this, Sense.invalidFieldInCdb(0));
    }

    switch (opcode) {
      case Op.TestUnitReady:
        return notReady(this, ctx) ?? { dir: 'none', status: ScsiStatus.Good };
      case Op.RequestSense:
        return this.#requestSense(cdb);
      case Op.Inquiry:
        return planInquiry(this, cdb, ctx);
      case Op.ReadCapacity10:
        return planReadCapacity10(this, ctx);
      case Op.ServiceActionIn16:
        if (((cdb[1] ?? 0) & 0x1f) === 0x10 && this.supportsReadCapacity16) return planReadCapacity16(this, cdb, ctx);
        if (((cdb[1] ?? 0) & 0x1f) === 0x10) return fail(this, Sense.invalidOpcode());
        return fail(this, Sense.invalidFieldInCdb(1, 4));
      case Op.Read6: {
        const n = cdb[4] ?? 0;
        // SBC-3 §5.14: READ(6)/WRITE(6) transfer length 0 means 256 blocks.
        return planRead(this, be24(cdb, 1) & 0x1fffff, n === 0 ? 256 : n, 4, ctx);
      }
      case Op.Read10:
        return planRead(this, be32(cdb, 2), be16(cdb, 7), 7, ctx);
      case Op.Read16:
        return planRead(this, be64(cdb, 2), be32(cdb, 10), 10, ctx);
      case Op.Write6: {
        const n = cdb[4] ?? 0;
        return planWrite(this, be24(cdb, 1) & 0x1fffff, n === 0 ? 256 : n, 4, false, ctx);
      }
      case Op.Write10:
        return planWrite(this, be32(cdb, 2), be16(cdb, 7), 7, ((cdb[1] ?? 0) & 0x08) !== 0, ctx);
      case Op.Write16:
        return planWrite(this, be64(cdb, 2), be32(cdb, 10), 10, ((cdb[1] ?? 0) & 0x08) !== 0, ctx);
      case Op.Verify10:
        return planVerify(this, cdb, ctx);
      case Op.SynchronizeCache10:
      case Op.SynchronizeCache16:
        return planSynchronizeCache(this, ctx);
      case Op.ModeSense6:
        return planModeSense(this, cdb, false);
      case Op.ModeSense10:
        return planModeSense(this, cdb, true);
      case Op.StartStopUnit:
        return this.#startStop(cdb);
      case Op.PreventAllow:
        // SPC-4 §6.13 / SBC-3: PREVENT field, bits 1:0 of byte 4 (01b = prevent).
        this.removalPrevented = ((cdb[4] ?? 0) & 0x01) !== 0;
        return { dir: 'none', status: ScsiStatus.Good };
      case Op.ReportLuns:
        return planReportLuns(this, cdb, ctx);
      case Op.ReadFormatCapacities:
        return planReadFormatCapacities(this, cdb);
      default:
        return this.#vendor(cdb, ctx);
    }
  }

  /** REQUEST SENSE, SPC-4 §6.29: reports (and clears) the pending UNIT ATTENTION or the last sense. */
  #requestSense(cdb: Uint8Array): TargetPlan {
    const desc = ((cdb[1] ?? 0) & 0x01) !== 0;
    let sense = this.pendingUnitAttention ?? this.sense;
    if (this.pendingUnitAttention) this.pendingUnitAttention = undefined;
    else this.sense = undefined;
    // With nothing recorded, report the pollable state (SPC-4 §6.29): an empty slot is NOT READY.
    sense ??= this.mediumPresent ? Sense.noSense() : Sense.mediumNotPresent();
    const bytes = desc ? encodeDescriptorSense(sense) : encodeFixedSense(sense);
    return dataIn(bytes, cdb[4] ?? 0);
  }

  /** START STOP UNIT, SBC-3 §5.25: stop/start the unit, eject or load the medium. */
  #startStop(cdb: Uint8Array): TargetPlan {
    const b4 = cdb[4] ?? 0;
    const powerCondition = b4 >> 4;
    const loej = (b4 & 0x02) !== 0;
    const start = (b4 & 0x01) !== 0;
    // SBC-3 §5.25: with a POWER CONDITION other than 0, START and LOEJ are ignored.
    if (powerCondition !== 0) return { dir: 'none', status: ScsiStatus.Good };
    if (loej && !this.removable) return fail(this, Sense.invalidFieldInCdb(4, 1));
    if (loej && !start) {
      if (this.removalPrevented) return fail(this, Sense.removalPrevented());
      if (this.mediumPresent) this.flush();
      this.mediumPresent = false;
      this.stopped = false;
      return { dir: 'none', status: ScsiStatus.Good };
    }
    if (loej && start) {
      if (!this.mediumPresent) {
        this.mediumPresent = true;
        this.stopped = false;
        this.pendingUnitAttention = Sense.mediumChanged();
      }
      return { dir: 'none', status: ScsiStatus.Good };
    }
    if (!start && this.mediumPresent) this.flush();
    this.stopped = !start;
    return { dir: 'none', status: ScsiStatus.Good };
  }

  /** Opcodes the unit does not know go to the vendor hook; without one, ILLEGAL REQUEST 05/20/00. */
  #vendor(cdb: Uint8Array, ctx: TargetContext): TargetPlan | Promise<TargetPlan> {
    const hook = ctx.vendorHook;
    if (!hook) return fail(this, Sense.invalidOpcode());
    const vctx: SimVendorContext = { hostDirection: ctx.hostDirection, hostLength: ctx.hostLength, tag: ctx.tag };
    const settle = (r: SimVendorResult | undefined): ScsiStatus => {
      if (r === undefined) {
        this.sense = Sense.invalidOpcode();
        return ScsiStatus.CheckCondition;
      }
      if (r.status === 'check-condition') {
        this.sense = r.sense ?? Sense.noSense();
        return ScsiStatus.CheckCondition;
      }
      return ScsiStatus.Good;
    };
    const toPlan = (r: SimVendorResult | undefined): TargetPlan => {
      const status = settle(r);
      const data = r?.data;
      if (data && data.length > 0) return { dir: 'in', data, status };
      return { dir: 'none', status };
    };
    // A vendor command's data-out length is whatever the host announced: the target cannot know better.
    if (ctx.hostDirection === 'out' && ctx.hostLength > 0) {
      return {
        dir: 'out',
        length: ctx.hostLength,
        complete: (data) => {
          const r = hook(cdb, data, this.index, vctx);
          return r instanceof Promise ? r.then(settle) : settle(r);
        },
      };
    }
    const r = hook(cdb, EMPTY, this.index, vctx);
    return r instanceof Promise ? r.then(toPlan) : toPlan(r);
  }
}
