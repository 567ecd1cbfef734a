/**
 * The device side of one simulated logical unit: a SCSI block device
 * (SPC-4 / SBC-3) over a backing store, with a volatile write cache. It
 * encodes its own responses (never imports the host's decoders), modelled on
 * what the captured devices in scsi/fixtures return (QEMU usb-storage, the Linux
 * f_mass_storage gadget).
 */
import { InvalidArgumentError } from '../errors.js';
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

/** SCSI status byte values (SAM-5). */
export const ScsiStatus = { Good: 0x00, CheckCondition: 0x02 } as const;
export type ScsiStatus = (typeof ScsiStatus)[keyof typeof ScsiStatus];

/** What a vendor hook returns. `undefined` means "not mine": ILLEGAL REQUEST 05/20/00. */
export interface SimVendorResult {
  status: 'good' | 'check-condition';
  /** Data-in bytes (the device intends to send exactly these). */
  data?: Uint8Array;
  /** Sense for a CHECK CONDITION (default NO SENSE). */
  sense?: SimSense;
}

/** Extra facts a vendor hook may use. */
export interface SimVendorContext {
  /** Direction and length the host announced in the CBW. */
  hostDirection: 'none' | 'in' | 'out';
  hostLength: number;
  tag: number;
}

/**
 * Implements opcodes the target does not know. Called with the data-out bytes
 * (empty for IN / no-data commands). May be async.
 */
export type SimVendorHook = (
  cdb: Uint8Array,
  dataOut: Uint8Array,
  lun: number,
  context: SimVendorContext,
) => SimVendorResult | undefined | Promise<SimVendorResult | undefined>;

/** The device's intent for one command (the "D" side of BOT 1.0 §6.7). */
export type TargetPlan =
  | { dir: 'none'; status: ScsiStatus }
  | { dir: 'in'; data: Uint8Array; status: ScsiStatus }
  | {
      dir: 'out';
      length: number;
      /**
       * Runs the command on the data-out bytes the device takes (the first
       * `length`) and returns its SCSI status; not called after a data-out
       * stall fault or a Phase Error (BOT 1.0 §6.7.3, case 13).
       */
      complete: (data: Uint8Array) => ScsiStatus | Promise<ScsiStatus>;
    };

/** Hooks the BOT layer gives the target for one command. */
export interface TargetContext {
  hostDirection: 'none' | 'in' | 'out';
  hostLength: number;
  tag: number;
  lunCount: number;
  vendorHook: SimVendorHook | undefined;
  /** Fires an armed SCSI-level fault of `kind` matching this command, if any. */
  takeNotReady(): SimSense | undefined;
  /** Fires a medium-error fault covering [lba, lba+blocks), returning the first bad LBA. */
  takeMediumError(lba: number, blocks: number, write: boolean): number | undefined;
  /** Counters. */
  countRead(bytes: number): void;
  countWritten(bytes: number): void;
  countFlush(): void;
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

/**
 * Largest READ/WRITE/VERIFY the simulator executes in one command (256 MiB), whatever
 * MAXIMUM TRANSFER LENGTH says: a hostile CDB must not make it allocate gigabytes.
 */
export const SIM_MAX_TRANSFER_BYTES = 256 * 1024 * 1024;

/** Minimum CDB length per known opcode (SPC-4 §4.2.5: group code sizes). */
function cdbLengthFor(opcode: number): number {
  const group = opcode >> 5;
  if (group === 0) return 6;
  if (group === 1 || group === 2) return 10;
  if (group === 4) return 16;
  if (group === 5) return 12;
  return 1;
}

function ascii(text: string, length: number): Uint8Array {
  // INQUIRY strings are left-aligned ASCII padded with spaces (SPC-4 §6.4.2).
  const out = new Uint8Array(length).fill(0x20);
  for (let i = 0; i < Math.min(length, text.length); i++) {
    const c = text.charCodeAt(i);
    out[i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return out;
}

function be16(cdb: Uint8Array, at: number): number {
  return ((cdb[at] ?? 0) << 8) | (cdb[at + 1] ?? 0);
}
function be24(cdb: Uint8Array, at: number): number {
  return ((cdb[at] ?? 0) << 16) | ((cdb[at + 1] ?? 0) << 8) | (cdb[at + 2] ?? 0);
}
function be32(cdb: Uint8Array, at: number): number {
  return (((cdb[at] ?? 0) << 24) >>> 0) + (((cdb[at + 1] ?? 0) << 16) | ((cdb[at + 2] ?? 0) << 8) | (cdb[at + 3] ?? 0));
}
function be64(cdb: Uint8Array, at: number): number {
  // LBAs beyond 2^53 cannot exist on a simulated medium; treat them as huge (out of range).
  const hi = be32(cdb, at);
  const lo = be32(cdb, at + 4);
  return hi * 0x1_0000_0000 + lo;
}

const EMPTY = new Uint8Array(0);

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
      return this.#fail(ua);
    }
    if (cdb.length < cdbLengthFor(opcode) && this.#isKnown(opcode)) {
      // The CBW's bCBWCBLength is shorter than the command's CDB: fields are missing.
      return this.#fail(Sense.invalidFieldInCdb(0));
    }

    switch (opcode) {
      case Op.TestUnitReady:
        return this.#ready(ctx) ?? { dir: 'none', status: ScsiStatus.Good };
      case Op.RequestSense:
        return this.#requestSense(cdb);
      case Op.Inquiry:
        return this.#inquiry(cdb, ctx);
      case Op.ReadCapacity10:
        return this.#readCapacity10(ctx);
      case Op.ServiceActionIn16:
        if (((cdb[1] ?? 0) & 0x1f) === 0x10 && this.supportsReadCapacity16) return this.#readCapacity16(cdb, ctx);
        if (((cdb[1] ?? 0) & 0x1f) === 0x10) return this.#fail(Sense.invalidOpcode());
        return this.#fail(Sense.invalidFieldInCdb(1, 4));
      case Op.Read6: {
        const n = cdb[4] ?? 0;
        // SBC-3 §5.14: READ(6)/WRITE(6) transfer length 0 means 256 blocks.
        return this.#read(be24(cdb, 1) & 0x1fffff, n === 0 ? 256 : n, 4, ctx);
      }
      case Op.Read10:
        return this.#read(be32(cdb, 2), be16(cdb, 7), 7, ctx);
      case Op.Read16:
        return this.#read(be64(cdb, 2), be32(cdb, 10), 10, ctx);
      case Op.Write6: {
        const n = cdb[4] ?? 0;
        return this.#write(be24(cdb, 1) & 0x1fffff, n === 0 ? 256 : n, 4, false, ctx);
      }
      case Op.Write10:
        return this.#write(be32(cdb, 2), be16(cdb, 7), 7, ((cdb[1] ?? 0) & 0x08) !== 0, ctx);
      case Op.Write16:
        return this.#write(be64(cdb, 2), be32(cdb, 10), 10, ((cdb[1] ?? 0) & 0x08) !== 0, ctx);
      case Op.Verify10:
        return this.#verify(cdb, ctx);
      case Op.SynchronizeCache10:
      case Op.SynchronizeCache16: {
        if (!this.supportsSynchronizeCache) return this.#fail(Sense.invalidOpcode());
        const notReady = this.#ready(ctx);
        if (notReady) return notReady;
        this.flush();
        ctx.countFlush();
        return { dir: 'none', status: ScsiStatus.Good };
      }
      case Op.ModeSense6:
        return this.#modeSense(cdb, false);
      case Op.ModeSense10:
        return this.#modeSense(cdb, true);
      case Op.StartStopUnit:
        return this.#startStop(cdb);
      case Op.PreventAllow:
        // SPC-4 §6.13 / SBC-3: PREVENT field, bits 1:0 of byte 4 (01b = prevent).
        this.removalPrevented = ((cdb[4] ?? 0) & 0x01) !== 0;
        return { dir: 'none', status: ScsiStatus.Good };
      case Op.ReportLuns:
        if (!this.supportsReportLuns) return this.#fail(Sense.invalidOpcode());
        return this.#reportLuns(cdb, ctx);
      case Op.ReadFormatCapacities:
        if (!this.supportsReadFormatCapacities) return this.#fail(Sense.invalidOpcode());
        return this.#readFormatCapacities(cdb);
      default:
        return this.#vendor(cdb, ctx);
    }
  }

  #isKnown(opcode: number): boolean {
    return KNOWN_OPCODES.has(opcode);
  }

  #fail(sense: SimSense): TargetPlan {
    this.sense = sense;
    return { dir: 'none', status: ScsiStatus.CheckCondition };
  }

  /** Media-access precondition: medium present, started, not "becoming ready". */
  #ready(ctx: TargetContext): TargetPlan | undefined {
    if (!this.mediumPresent) return this.#fail(Sense.mediumNotPresent());
    if (this.stopped) return this.#fail(Sense.initializingCommandRequired());
    const notReady = ctx.takeNotReady();
    if (notReady) return this.#fail(notReady);
    return undefined;
  }

  #in(data: Uint8Array, allocation: number): TargetPlan {
    // SPC-4 §4.2.5.6: the device returns min(allocation length, available) bytes.
    return { dir: 'in', data: data.length > allocation ? data.subarray(0, allocation) : data, status: ScsiStatus.Good };
  }

  #requestSense(cdb: Uint8Array): TargetPlan {
    const desc = ((cdb[1] ?? 0) & 0x01) !== 0;
    let sense = this.pendingUnitAttention ?? this.sense;
    if (this.pendingUnitAttention) this.pendingUnitAttention = undefined;
    else this.sense = undefined;
    // With nothing recorded, report the pollable state (SPC-4 §6.29): an empty slot is NOT READY.
    sense ??= this.mediumPresent ? Sense.noSense() : Sense.mediumNotPresent();
    const bytes = desc ? encodeDescriptorSense(sense) : encodeFixedSense(sense);
    return this.#in(bytes, cdb[4] ?? 0);
  }

  #inquiry(cdb: Uint8Array, ctx: TargetContext): TargetPlan {
    const evpd = ((cdb[1] ?? 0) & 0x01) !== 0;
    const page = cdb[2] ?? 0;
    const allocation = be16(cdb, 3);
    const lunPresent = this.index < ctx.lunCount;
    // PERIPHERAL QUALIFIER 011b + type 1Fh: no logical unit here (SPC-4 §6.4.2).
    const byte0 = lunPresent ? this.peripheralType & 0x1f : 0x7f;
    if (!evpd) {
      // SPC-4 §6.4.1: PAGE CODE must be zero when EVPD is zero.
      if (page !== 0) return this.#fail(Sense.invalidFieldInCdb(2));
      if (this.inquiryData && lunPresent) return this.#in(this.inquiryData.slice(), allocation);
      const d = new Uint8Array(36);
      d[0] = byte0;
      d[1] = this.removable ? 0x80 : 0x00;
      d[2] = this.version;
      d[3] = 0x02; // RESPONSE DATA FORMAT 2
      d[4] = 36 - 5; // ADDITIONAL LENGTH
      d.set(ascii(this.vendor, 8), 8);
      d.set(ascii(this.product, 16), 16);
      d.set(ascii(this.revision, 4), 32);
      return this.#in(d, allocation);
    }
    if (!this.vpdPages) return this.#fail(Sense.invalidFieldInCdb(1, 0));
    const body = this.#vpd(page);
    if (!body) return this.#fail(Sense.invalidFieldInCdb(2));
    const d = new Uint8Array(4 + body.length);
    d[0] = byte0;
    d[1] = page;
    d[2] = (body.length >> 8) & 0xff;
    d[3] = body.length & 0xff;
    d.set(body, 4);
    return this.#in(d, allocation);
  }

  /** VPD page bodies (after the 4-byte header), SPC-4 §7.8 and SBC-3 §6.5. */
  #vpd(page: number): Uint8Array | undefined {
    if (!this.vpdPageList.includes(page)) return undefined;
    switch (page) {
      case 0x00:
        return Uint8Array.from(this.vpdPageList);
      case 0x80:
        return ascii(this.serialNumber, this.serialNumber.length);
      case 0x83: {
        // One T10 vendor ID based designator (type 1, ASCII code set 2): vendor + product + serial.
        const id = new Uint8Array(8 + 16 + this.serialNumber.length);
        id.set(ascii(this.vendor, 8), 0);
        id.set(ascii(this.product, 16), 8);
        id.set(ascii(this.serialNumber, this.serialNumber.length), 24);
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
        v.setUint32(8 - 4, this.maxTransferLength >>> 0, false); // MAXIMUM TRANSFER LENGTH (bytes 8-11)
        v.setUint32(12 - 4, this.optimalTransferLength >>> 0, false); // OPTIMAL TRANSFER LENGTH (bytes 12-15)
        return d;
      }
      case 0xb1: {
        // Block Device Characteristics, SBC-3 §6.5.2: MEDIUM ROTATION RATE (bytes 4-5).
        const d = new Uint8Array(0x3c);
        d[0] = (this.rotationRate >> 8) & 0xff;
        d[1] = this.rotationRate & 0xff;
        return d;
      }
      default:
        return undefined;
    }
  }

  #readCapacity10(ctx: TargetContext): TargetPlan {
    const notReady = this.#ready(ctx);
    if (notReady) return notReady;
    const d = new Uint8Array(8);
    const v = new DataView(d.buffer);
    const last = this.blocks - 1;
    // SBC-3 §5.16.2: FFFFFFFFh when the last LBA does not fit; the host then uses READ CAPACITY(16).
    v.setUint32(0, last > 0xfffffffe ? 0xffffffff : last >>> 0, false);
    v.setUint32(4, this.blockSize, false);
    return { dir: 'in', data: d, status: ScsiStatus.Good };
  }

  #readCapacity16(cdb: Uint8Array, ctx: TargetContext): TargetPlan {
    const notReady = this.#ready(ctx);
    if (notReady) return notReady;
    const d = new Uint8Array(32);
    const v = new DataView(d.buffer);
    v.setBigUint64(0, BigInt(this.blocks - 1), false);
    v.setUint32(8, this.blockSize, false);
    return this.#in(d, be32(cdb, 10));
  }

  /** Common checks of READ/WRITE/VERIFY: range (SBC-3 §4.5) and the Block Limits maximum. */
  #checkRange(lba: number, count: number, lengthByte: number): TargetPlan | undefined {
    if (lba + count > this.blocks) return this.#fail(Sense.lbaOutOfRange(lba));
    if (this.maxTransferLength > 0 && count > this.maxTransferLength) return this.#fail(Sense.invalidFieldInCdb(lengthByte));
    if (count * this.blockSize > SIM_MAX_TRANSFER_BYTES) return this.#fail(Sense.invalidFieldInCdb(lengthByte));
    return undefined;
  }

  #read(lba: number, count: number, lengthByte: number, ctx: TargetContext): TargetPlan {
    const notReady = this.#ready(ctx);
    if (notReady) return notReady;
    const bad = this.#checkRange(lba, count, lengthByte);
    if (bad) return bad;
    if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
    const badLba = ctx.takeMediumError(lba, count, false);
    if (badLba !== undefined) return this.#fail(Sense.unrecoveredReadError(badLba));
    const data = this.readBlocks(lba, count);
    ctx.countRead(data.length);
    return { dir: 'in', data, status: ScsiStatus.Good };
  }

  #write(lba: number, count: number, lengthByte: number, fua: boolean, ctx: TargetContext): TargetPlan {
    const notReady = this.#ready(ctx);
    if (notReady) return notReady;
    if (this.writeProtected) return this.#fail(Sense.writeProtected());
    const bad = this.#checkRange(lba, count, lengthByte);
    if (bad) return bad;
    if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
    return {
      dir: 'out',
      length: count * this.blockSize,
      complete: (data) => {
        const badLba = ctx.takeMediumError(lba, count, true);
        if (badLba !== undefined) {
          // Blocks before the bad one were written (SBC-3: INFORMATION = first failing LBA).
          if (badLba > lba) this.writeBlocks(lba, data.subarray(0, (badLba - lba) * this.blockSize), fua);
          this.sense = Sense.writeError(badLba);
          return ScsiStatus.CheckCondition;
        }
        this.writeBlocks(lba, data, fua);
        ctx.countWritten(data.length);
        return ScsiStatus.Good;
      },
    };
  }

  #verify(cdb: Uint8Array, ctx: TargetContext): TargetPlan {
    const notReady = this.#ready(ctx);
    if (notReady) return notReady;
    const lba = be32(cdb, 2);
    const count = be16(cdb, 7);
    // SBC-3 §5.33: BYTCHK is bits 2:1 of byte 1; 00b = medium verification only, 01b = compare with data-out.
    const bytchk = ((cdb[1] ?? 0) >> 1) & 0x03;
    if (bytchk > 1) return this.#fail(Sense.invalidFieldInCdb(1, 2));
    const bad = this.#checkRange(lba, count, 7);
    if (bad) return bad;
    if (count === 0) return { dir: 'none', status: ScsiStatus.Good };
    if (bytchk === 0) {
      const badLba = ctx.takeMediumError(lba, count, false);
      if (badLba !== undefined) return this.#fail(Sense.unrecoveredReadError(badLba));
      return { dir: 'none', status: ScsiStatus.Good };
    }
    return {
      dir: 'out',
      length: count * this.blockSize,
      complete: (data) => {
        const badLba = ctx.takeMediumError(lba, count, false);
        if (badLba !== undefined) {
          this.sense = Sense.unrecoveredReadError(badLba);
          return ScsiStatus.CheckCondition;
        }
        const medium = this.readBlocks(lba, count);
        for (let i = 0; i < medium.length; i++) {
          if (medium[i] !== data[i]) {
            this.sense = Sense.miscompare(i);
            return ScsiStatus.CheckCondition;
          }
        }
        return ScsiStatus.Good;
      },
    };
  }

  /** Mode pages (SPC-4 §7.5, SBC-3 §6.4), current/default values. `changeable` = all-zero masks. */
  #modePage(page: number, changeable: boolean): Uint8Array | undefined {
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
        if (!changeable && this.writeCacheEnabled) d[2] = 0x04;
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

  #modeSense(cdb: Uint8Array, ten: boolean): TargetPlan {
    const dbd = ((cdb[1] ?? 0) & 0x08) !== 0;
    const pc = (cdb[2] ?? 0) >> 6;
    const page = (cdb[2] ?? 0) & 0x3f;
    const subpage = cdb[3] ?? 0;
    const allocation = ten ? be16(cdb, 7) : (cdb[4] ?? 0);
    if (pc === 3) return this.#fail(Sense.savingNotSupported());
    if (subpage !== 0 && !(page === 0x3f && subpage === 0xff)) return this.#fail(Sense.invalidFieldInCdb(3));
    const pages: Uint8Array[] = [];
    if (page === 0x3f) {
      for (const p of [0x01, 0x08, 0x1c]) pages.push(this.#modePage(p, pc === 1) ?? EMPTY);
    } else {
      const p = this.#modePage(page, pc === 1);
      if (!p) return this.#fail(Sense.invalidFieldInCdb(2, 5));
      pages.push(p);
    }
    // Short LBA mode parameter block descriptor (SBC-3 §6.4.2.2: NUMBER OF LOGICAL BLOCKS in
    // bytes 0-3, FFFFFFFFh when larger; LOGICAL BLOCK LENGTH in bytes 5-7), unless DBD or no medium.
    let descriptor = EMPTY;
    if (!dbd && this.mediumPresent) {
      descriptor = new Uint8Array(8);
      new DataView(descriptor.buffer).setUint32(0, Math.min(this.blocks, 0xffffffff), false);
      descriptor[5] = (this.blockSize >> 16) & 0xff;
      descriptor[6] = (this.blockSize >> 8) & 0xff;
      descriptor[7] = this.blockSize & 0xff;
    }
    const headerLength = ten ? 8 : 4;
    const pagesLength = pages.reduce((n, p) => n + p.length, 0);
    const d = new Uint8Array(headerLength + descriptor.length + pagesLength);
    // DEVICE-SPECIFIC PARAMETER (SBC-3 §6.4.1): WP bit 7, DPOFUA bit 4 (we honour FUA).
    const deviceSpecific = (this.writeProtected ? 0x80 : 0) | 0x10;
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
    return this.#in(d, allocation);
  }

  #startStop(cdb: Uint8Array): TargetPlan {
    const b4 = cdb[4] ?? 0;
    const powerCondition = b4 >> 4;
    const loej = (b4 & 0x02) !== 0;
    const start = (b4 & 0x01) !== 0;
    // SBC-3 §5.25: with a POWER CONDITION other than 0, START and LOEJ are ignored.
    if (powerCondition !== 0) return { dir: 'none', status: ScsiStatus.Good };
    if (loej && !this.removable) return this.#fail(Sense.invalidFieldInCdb(4, 1));
    if (loej && !start) {
      if (this.removalPrevented) return this.#fail(Sense.removalPrevented());
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

  #reportLuns(cdb: Uint8Array, ctx: TargetContext): TargetPlan {
    const allocation = be32(cdb, 6);
    // SPC-4 §6.33: an ALLOCATION LENGTH below 16 is an invalid field.
    if (allocation < 16) return this.#fail(Sense.invalidFieldInCdb(6));
    const d = new Uint8Array(8 + 8 * ctx.lunCount);
    new DataView(d.buffer).setUint32(0, 8 * ctx.lunCount, false);
    for (let i = 0; i < ctx.lunCount; i++) {
      // Peripheral device addressing, single level: LUN in byte 1 (SAM-5 §4.7).
      d[8 + 8 * i + 1] = i;
    }
    return this.#in(d, allocation);
  }

  #readFormatCapacities(cdb: Uint8Array): TargetPlan {
    const allocation = be16(cdb, 7);
    // SFF-8070i / UFI: capacity list header + current/maximum capacity descriptor.
    // Descriptor type 2 = formatted media, 3 = no media present (then the maximum capacity).
    const d = new Uint8Array(12);
    d[3] = 8;
    new DataView(d.buffer).setUint32(4, Math.min(this.blocks, 0xffffffff) >>> 0, false);
    d[8] = this.mediumPresent ? 0x02 : 0x03;
    d[9] = (this.blockSize >> 16) & 0xff;
    d[10] = (this.blockSize >> 8) & 0xff;
    d[11] = this.blockSize & 0xff;
    return this.#in(d, allocation);
  }

  #vendor(cdb: Uint8Array, ctx: TargetContext): TargetPlan | Promise<TargetPlan> {
    const hook = ctx.vendorHook;
    if (!hook) return this.#fail(Sense.invalidOpcode());
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
