/**
 * One pure builder per SCSI command. Each validates its input, then returns a
 * ScsiCommand: CDB bytes (big-endian fields, SPC-4 §4.2), direction, transfer
 * length and a decoder for the data-in bytes. Nothing here does I/O; send them
 * with `device.run(command)` or `lu.run(command)`.
 *
 * Clause numbers cite SPC-4 r37 and SBC-3 r36.
 *
 * @example
 * const cap = await lu.run(readCapacity10());
 * const bytes = await lu.run(read10({ lba: 0, blocks: 8, blockSize: cap.blockSize }));
 */
import { InvalidArgumentError } from '../errors.js';
import { decodeSense } from '../sense/decode.js';
import type { SenseData } from '../sense/types.js';
import { checkInteger, padCdb, putU16, putU32, putU64 } from './bytes.js';
import type { FormatCapacities, ReadCapacity10Data, ReadCapacity16Data } from './capacity.js';
import { decodeReadCapacity10, decodeReadCapacity16, decodeReadFormatCapacities } from './capacity.js';
import type { ScsiCommand } from './command.js';
import type { BlockDeviceCharacteristics, BlockLimits, Designator, InquiryData } from './inquiry.js';
import {
  decodeBlockDeviceCharacteristics,
  decodeBlockLimits,
  decodeDeviceIdentification,
  decodeInquiry,
  decodeSupportedVpdPages,
  decodeUnitSerialNumber,
  decodeVpdPage,
  VpdPage,
} from './inquiry.js';
import type { ModeSenseData } from './mode-sense.js';
import { decodeModeSense6, decodeModeSense10, ModePage } from './mode-sense.js';
import { ScsiOpcode, ScsiServiceAction } from './opcodes.js';
import { reportedLunNumbers } from './report-luns.js';

const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffff_ffff;
/** BOT 1.0 §5.1: dCBWDataTransferLength is 32 bits. */
const MAX_TRANSFER_BYTES = U32;

/** Options shared by builders whose CDB is shorter than 12 bytes. */
export interface CdbPaddingOptions {
  /**
   * Zero-pad the CDB to 12 bytes (quirk `padCdbTo12`): some UFI-style bridges
   * and old card readers reject CDBs shorter than 12 bytes.
   */
  padCdbTo12?: boolean;
}

function makeCdb(size: number, opcode: number, options?: CdbPaddingOptions): Uint8Array {
  const cdb = new Uint8Array(options?.padCdbTo12 === true && size < 12 ? 12 : size);
  cdb[0] = opcode;
  return cdb;
}

/** Builders with required options check for them first, for callers without TypeScript. */
function requireOptions(name: string, options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${name}: an options object is required`);
  }
}

function noData(): undefined {
  return undefined;
}

function identity(data: Uint8Array): Uint8Array {
  return data;
}

/** Returns a copy of `command` whose CDB is zero-padded to `size` bytes. */
export function withPaddedCdb<T>(command: ScsiCommand<T>, size = 12): ScsiCommand<T> {
  checkInteger('CDB size', size, 16, 1);
  return { ...command, cdb: padCdb(command.cdb, size) };
}

// ---------------------------------------------------------------------------
// SPC-4 commands

/** TEST UNIT READY (SPC-4, INQUIRY command7): 6-byte CDB, no data. */
export function testUnitReady(options?: CdbPaddingOptions): ScsiCommand<undefined> {
  return { name: 'TEST UNIT READY', cdb: makeCdb(6, ScsiOpcode.TestUnitReady, options), direction: 'none', length: 0, decode: noData };
}

export interface RequestSenseOptions extends CdbPaddingOptions {
  /** DESC bit: ask for descriptor-format sense (SPC-4 §6.39). Many USB devices ignore or reject it. */
  descriptor?: boolean;
  /** Allocation length, 1-255; default 18 (fixed format, the size Linux and Windows ask for). */
  allocationLength?: number;
}

/** REQUEST SENSE (SPC-4 §6.39). The decoder returns the decoded sense data. */
export function requestSense(options: RequestSenseOptions = {}): ScsiCommand<SenseData> {
  const length = checkInteger('REQUEST SENSE allocation length', options.allocationLength ?? 18, U8, 1);
  const cdb = makeCdb(6, ScsiOpcode.RequestSense, options);
  if (options.descriptor === true) cdb[1] = 0x01;
  cdb[4] = length;
  return { name: 'REQUEST SENSE', cdb, direction: 'in', length, decode: decodeSense };
}

export interface InquiryOptions extends CdbPaddingOptions {
  /**
   * Allocation length, 5-65535; default 36, the standard data size. Linux asks
   * exactly 36 bytes on USB because some devices crash on anything else.
   */
  allocationLength?: number;
}

/** Standard INQUIRY (SPC-4, INQUIRY command): 12 00 00 <alloc:2> 00. */
export function inquiry(options: InquiryOptions = {}): ScsiCommand<InquiryData> {
  const length = checkInteger('INQUIRY allocation length', options.allocationLength ?? 36, U16, 5);
  const cdb = makeCdb(6, ScsiOpcode.Inquiry, options);
  putU16(cdb, 3, length);
  return { name: 'INQUIRY', cdb, direction: 'in', length, decode: decodeInquiry };
}

export interface InquiryVpdOptions extends CdbPaddingOptions {
  /** Allocation length, 4-65535; default 252 (fits the single-byte field of pre-SPC-3 devices). */
  allocationLength?: number;
}

function vpdCommand<T>(page: number, options: InquiryVpdOptions, decode: (data: Uint8Array) => T): ScsiCommand<T> {
  checkInteger('VPD page code', page, U8);
  const length = checkInteger('INQUIRY allocation length', options.allocationLength ?? 252, U16, 4);
  const cdb = makeCdb(6, ScsiOpcode.Inquiry, options);
  cdb[1] = 0x01; // EVPD
  cdb[2] = page;
  putU16(cdb, 3, length);
  return { name: `INQUIRY VPD 0x${page.toString(16).padStart(2, '0')}`, cdb, direction: 'in', length, decode };
}

export interface InquiryVpdPageOptions extends InquiryVpdOptions {
  /** VPD page code, 0-255. */
  page: number;
}

/**
 * INQUIRY with EVPD=1 for any page (SPC-4, INQUIRY command). The decoder checks the page
 * header (page code, PAGE LENGTH) and returns the whole page, header included,
 * bounded by the declared length and the bytes received. Use `decodeVpdPage` for
 * the header fields.
 *
 * @example lu.run(inquiryVpd({ page: 0x89 })) // ATA Information page
 */
export function inquiryVpd(pageOrOptions: number | InquiryVpdPageOptions, options: InquiryVpdOptions = {}): ScsiCommand<Uint8Array> {
  const o = typeof pageOrOptions === 'number' ? { ...options, page: pageOrOptions } : pageOrOptions;
  const page = o.page;
  return vpdCommand(page, o, (data) => {
    const header = decodeVpdPage(data, page);
    return data.subarray(0, 4 + header.payload.length);
  });
}

/** VPD 0x00, supported VPD pages (SPC-4 §7.8, Supported VPD Pages). */
export function inquirySupportedVpdPages(options: InquiryVpdOptions = {}): ScsiCommand<number[]> {
  return vpdCommand(VpdPage.SupportedPages, options, decodeSupportedVpdPages);
}

/** VPD 0x80, unit serial number (SPC-4 §7.8, Unit Serial Number). */
export function inquiryUnitSerialNumber(options: InquiryVpdOptions = {}): ScsiCommand<string> {
  return vpdCommand(VpdPage.UnitSerialNumber, options, decodeUnitSerialNumber);
}

/** VPD 0x83, device identification (SPC-4 §7.8.6). */
export function inquiryDeviceIdentification(options: InquiryVpdOptions = {}): ScsiCommand<Designator[]> {
  return vpdCommand(VpdPage.DeviceIdentification, options, decodeDeviceIdentification);
}

/** VPD 0xB0, block limits (SBC-3, Block Limits VPD page). */
export function inquiryBlockLimits(options: InquiryVpdOptions = {}): ScsiCommand<BlockLimits> {
  return vpdCommand(VpdPage.BlockLimits, options, decodeBlockLimits);
}

/** VPD 0xB1, block device characteristics (SBC-3, Block Device Characteristics VPD page). */
export function inquiryBlockDeviceCharacteristics(options: InquiryVpdOptions = {}): ScsiCommand<BlockDeviceCharacteristics> {
  return vpdCommand(VpdPage.BlockDeviceCharacteristics, options, decodeBlockDeviceCharacteristics);
}

/** PC field of MODE SENSE (SPC-4 §6.11): which values of a mode page to return. */
export type ModePageControl = 'current' | 'changeable' | 'default' | 'saved';
const PAGE_CONTROL: Record<ModePageControl, number> = { current: 0, changeable: 1, default: 2, saved: 3 };

export interface ModeSenseOptions extends CdbPaddingOptions {
  /** Page code 0-0x3F; default 0x3F (all pages). */
  page?: number;
  /** Subpage code; default 0. */
  subpage?: number;
  /** PC field; default 'current'. */
  pageControl?: ModePageControl;
  /** DBD: ask the device not to return block descriptors. */
  disableBlockDescriptors?: boolean;
  /**
   * Allocation length. MODE SENSE(6): 4-255, default 192 (Linux's usb-storage value:
   * some devices fail larger requests). MODE SENSE(10): 8-65535, default 252.
   */
  allocationLength?: number;
}

function modeSenseFields(options: ModeSenseOptions): { page: number; subpage: number; pc: number } {
  const page = checkInteger('mode page code', options.page ?? ModePage.AllPages, 0x3f);
  const subpage = checkInteger('mode subpage code', options.subpage ?? 0, U8);
  const control = options.pageControl ?? 'current';
  const pc = PAGE_CONTROL[control];
  if (pc === undefined) throw new InvalidArgumentError(`page control must be one of ${Object.keys(PAGE_CONTROL).join(', ')}`);
  return { page, subpage, pc };
}

/** MODE SENSE(6) (SPC-4, MODE SENSE(6) command): 1A <dbd> <pc|page> <subpage> <alloc> 00. */
export function modeSense6(options: ModeSenseOptions = {}): ScsiCommand<ModeSenseData> {
  const { page, subpage, pc } = modeSenseFields(options);
  const length = checkInteger('MODE SENSE(6) allocation length', options.allocationLength ?? 192, U8, 4);
  const cdb = makeCdb(6, ScsiOpcode.ModeSense6, options);
  if (options.disableBlockDescriptors === true) cdb[1] = 0x08;
  cdb[2] = (pc << 6) | page;
  cdb[3] = subpage;
  cdb[4] = length;
  return { name: 'MODE SENSE(6)', cdb, direction: 'in', length, decode: decodeModeSense6 };
}

export interface ModeSense10Options extends ModeSenseOptions {
  /** LLBAA: accept long LBA block descriptors. */
  longLba?: boolean;
}

/** MODE SENSE(10) (SPC-4, MODE SENSE(10) command): 5A <llbaa|dbd> <pc|page> <subpage> 00 00 00 <alloc:2> 00. */
export function modeSense10(options: ModeSense10Options = {}): ScsiCommand<ModeSenseData> {
  const { page, subpage, pc } = modeSenseFields(options);
  const length = checkInteger('MODE SENSE(10) allocation length', options.allocationLength ?? 252, U16, 8);
  const cdb = makeCdb(10, ScsiOpcode.ModeSense10, options);
  cdb[1] = (options.longLba === true ? 0x10 : 0) | (options.disableBlockDescriptors === true ? 0x08 : 0);
  cdb[2] = (pc << 6) | page;
  cdb[3] = subpage;
  putU16(cdb, 7, length);
  return { name: 'MODE SENSE(10)', cdb, direction: 'in', length, decode: decodeModeSense10 };
}

/** Options of the REPORT LUNS builder (SPC-4 §6.33). */
export interface ReportLunsOptions {
  /** Allocation length, 16-0xFFFFFFFF (SPC-4 §6.33 requires at least 16); default 64 (7 LUNs). */
  allocationLength?: number;
  /** SELECT REPORT; default 0 (all logical units). */
  selectReport?: number;
}

/**
 * REPORT LUNS (SPC-4 §6.33): 12-byte CDB. Many USB devices reject it; ask only
 * when needed. Decodes to the LUN numbers in single-level peripheral or flat
 * addressing (the only forms a Bulk-Only device can use, its CBW LUN being 4 bits);
 * use `decodeReportLuns` on raw data for every entry.
 */
export function reportLuns(options: ReportLunsOptions = {}): ScsiCommand<number[]> {
  const length = checkInteger('REPORT LUNS allocation length', options.allocationLength ?? 64, MAX_TRANSFER_BYTES, 16);
  const select = checkInteger('REPORT LUNS select report', options.selectReport ?? 0, U8);
  const cdb = makeCdb(12, ScsiOpcode.ReportLuns);
  cdb[2] = select;
  putU32(cdb, 6, length);
  return { name: 'REPORT LUNS', cdb, direction: 'in', length, decode: reportedLunNumbers };
}

// ---------------------------------------------------------------------------
// SBC-3 commands

/** READ CAPACITY(10) (SBC-3 §5.15): 10-byte CDB, 8 bytes of data. */
export function readCapacity10(options?: CdbPaddingOptions): ScsiCommand<ReadCapacity10Data> {
  return { name: 'READ CAPACITY(10)', cdb: makeCdb(10, ScsiOpcode.ReadCapacity10, options), direction: 'in', length: 8, decode: decodeReadCapacity10 };
}

/** Options of the READ CAPACITY(16) builder (SBC-3 §5.16). */
export interface ReadCapacity16Options {
  /** Allocation length, 12-0xFFFFFFFF; default 32 (the full SBC-3 parameter data). */
  allocationLength?: number;
}

/** READ CAPACITY(16) (SBC-3 §5.16): SERVICE ACTION IN(16) 9E, service action 0x10. */
export function readCapacity16(options: ReadCapacity16Options = {}): ScsiCommand<ReadCapacity16Data> {
  const length = checkInteger('READ CAPACITY(16) allocation length', options.allocationLength ?? 32, MAX_TRANSFER_BYTES, 12);
  const cdb = makeCdb(16, ScsiOpcode.ServiceActionIn16);
  cdb[1] = ScsiServiceAction.ReadCapacity16;
  putU32(cdb, 10, length);
  return { name: 'READ CAPACITY(16)', cdb, direction: 'in', length, decode: decodeReadCapacity16 };
}

/** A range of logical blocks, shared by the block-addressed command builders. */
export interface BlockRangeOptions {
  /** First logical block address. */
  lba: number;
  /** Number of logical blocks, at least 1. */
  blocks: number;
}

/** Options of the READ(10)/READ(16) builders (SBC-3 §5.11, §5.13). */
export interface ReadOptions extends BlockRangeOptions {
  /** Logical block length in bytes (from READ CAPACITY); sets the transfer length. */
  blockSize: number;
  /** FUA: read from the medium, not the cache. */
  fua?: boolean;
  /** DPO: do not keep the data in the cache. */
  dpo?: boolean;
}

/** Options of the WRITE(10)/WRITE(16) builders. */
export interface WriteOptions {
  lba: number;
  /** Data to write: a whole number of blocks. */
  data: Uint8Array;
  blockSize: number;
  /** FUA: complete only when the data is on the medium. */
  fua?: boolean;
  dpo?: boolean;
}

function checkBlockSize(blockSize: number): number {
  return checkInteger('block size', blockSize, U32, 1);
}

function transferBytes(name: string, blocks: number, blockSize: number): number {
  const bytes = blocks * blockSize;
  if (!Number.isSafeInteger(bytes) || bytes > MAX_TRANSFER_BYTES) {
    throw new InvalidArgumentError(
      `${name}: ${blocks} blocks of ${blockSize} bytes exceed the 4 GiB - 1 limit of one Bulk-Only transfer (BOT 1.0 §5.1); split the request`,
    );
  }
  return bytes;
}

function flagsByte(options: { fua?: boolean; dpo?: boolean }): number {
  return (options.dpo === true ? 0x10 : 0) | (options.fua === true ? 0x08 : 0);
}

function writeBlocks(name: string, options: WriteOptions, maxBlocks: number): number {
  if (!(options.data instanceof Uint8Array)) throw new InvalidArgumentError(`${name}: data must be a Uint8Array`);
  const blockSize = checkBlockSize(options.blockSize);
  if (options.data.length === 0 || options.data.length % blockSize !== 0) {
    throw new InvalidArgumentError(`${name}: data length ${options.data.length} is not a positive multiple of the ${blockSize}-byte block size`);
  }
  const blocks = options.data.length / blockSize;
  checkInteger(`${name} transfer length (blocks)`, blocks, maxBlocks, 1);
  transferBytes(name, blocks, blockSize);
  return blocks;
}

/** READ(10) (SBC-3 §5.11): 28 <flags> <lba:4> 00 <blocks:2> 00. LBA < 2^32, up to 65535 blocks. */
export function read10(options: ReadOptions & CdbPaddingOptions): ScsiCommand<Uint8Array> {
  requireOptions('READ(10)', options);
  const lba = checkInteger('READ(10) LBA', options.lba, U32);
  const blocks = checkInteger('READ(10) transfer length (blocks)', options.blocks, U16, 1);
  const length = transferBytes('READ(10)', blocks, checkBlockSize(options.blockSize));
  const cdb = makeCdb(10, ScsiOpcode.Read10, options);
  cdb[1] = flagsByte(options);
  putU32(cdb, 2, lba);
  putU16(cdb, 7, blocks);
  return { name: 'READ(10)', cdb, direction: 'in', length, decode: identity };
}

/** READ(16) (SBC-3 §5.13): 88 <flags> <lba:8> <blocks:4> 00. */
export function read16(options: ReadOptions): ScsiCommand<Uint8Array> {
  requireOptions('READ(16)', options);
  const lba = checkInteger('READ(16) LBA', options.lba, Number.MAX_SAFE_INTEGER);
  const blocks = checkInteger('READ(16) transfer length (blocks)', options.blocks, U32, 1);
  const length = transferBytes('READ(16)', blocks, checkBlockSize(options.blockSize));
  const cdb = makeCdb(16, ScsiOpcode.Read16);
  cdb[1] = flagsByte(options);
  putU64(cdb, 2, lba);
  putU32(cdb, 10, blocks);
  return { name: 'READ(16)', cdb, direction: 'in', length, decode: identity };
}

/** WRITE(10) (SBC-3, WRITE(10)): 2A <flags> <lba:4> 00 <blocks:2> 00, data out. */
export function write10(options: WriteOptions & CdbPaddingOptions): ScsiCommand<undefined> {
  requireOptions('WRITE(10)', options);
  const lba = checkInteger('WRITE(10) LBA', options.lba, U32);
  const blocks = writeBlocks('WRITE(10)', options, U16);
  const cdb = makeCdb(10, ScsiOpcode.Write10, options);
  cdb[1] = flagsByte(options);
  putU32(cdb, 2, lba);
  putU16(cdb, 7, blocks);
  return { name: 'WRITE(10)', cdb, direction: 'out', length: options.data.length, data: options.data, writesMedium: true, decode: noData };
}

/** WRITE(16) (SBC-3, WRITE(16)): 8A <flags> <lba:8> <blocks:4> 00, data out. */
export function write16(options: WriteOptions): ScsiCommand<undefined> {
  requireOptions('WRITE(16)', options);
  const lba = checkInteger('WRITE(16) LBA', options.lba, Number.MAX_SAFE_INTEGER);
  const blocks = writeBlocks('WRITE(16)', options, U32);
  const cdb = makeCdb(16, ScsiOpcode.Write16);
  cdb[1] = flagsByte(options);
  putU64(cdb, 2, lba);
  putU32(cdb, 10, blocks);
  return { name: 'WRITE(16)', cdb, direction: 'out', length: options.data.length, data: options.data, writesMedium: true, decode: noData };
}

/** Options of the SYNCHRONIZE CACHE(10) builder. */
export interface SynchronizeCacheOptions {
  /** First LBA to flush; default 0. */
  lba?: number;
  /** Blocks to flush; default 0, meaning "from lba to the end of the medium" (SBC-3, SYNCHRONIZE CACHE(10)). */
  blocks?: number;
  /** IMMED: return before the flush completes. */
  immediate?: boolean;
  /** Timeout; default 60 s, since a large write cache can take long to drain. */
  timeoutMs?: number;
}

const FLUSH_TIMEOUT_MS = 60_000;

/** SYNCHRONIZE CACHE(10) (SBC-3, SYNCHRONIZE CACHE(10)): 35 <immed> <lba:4> 00 <blocks:2> 00. Not write-class. */
export function synchronizeCache10(options: SynchronizeCacheOptions & CdbPaddingOptions = {}): ScsiCommand<undefined> {
  const lba = checkInteger('SYNCHRONIZE CACHE(10) LBA', options.lba ?? 0, U32);
  const blocks = checkInteger('SYNCHRONIZE CACHE(10) number of blocks', options.blocks ?? 0, U16);
  const cdb = makeCdb(10, ScsiOpcode.SynchronizeCache10, options);
  if (options.immediate === true) cdb[1] = 0x02;
  putU32(cdb, 2, lba);
  putU16(cdb, 7, blocks);
  return { name: 'SYNCHRONIZE CACHE(10)', cdb, direction: 'none', length: 0, timeoutMs: options.timeoutMs ?? FLUSH_TIMEOUT_MS, decode: noData };
}

/** SYNCHRONIZE CACHE(16) (SBC-3, SYNCHRONIZE CACHE(16)): 91 <immed> <lba:8> <blocks:4> 00. */
export function synchronizeCache16(options: SynchronizeCacheOptions = {}): ScsiCommand<undefined> {
  const lba = checkInteger('SYNCHRONIZE CACHE(16) LBA', options.lba ?? 0, Number.MAX_SAFE_INTEGER);
  const blocks = checkInteger('SYNCHRONIZE CACHE(16) number of blocks', options.blocks ?? 0, U32);
  const cdb = makeCdb(16, ScsiOpcode.SynchronizeCache16);
  if (options.immediate === true) cdb[1] = 0x02;
  putU64(cdb, 2, lba);
  putU32(cdb, 10, blocks);
  return { name: 'SYNCHRONIZE CACHE(16)', cdb, direction: 'none', length: 0, timeoutMs: options.timeoutMs ?? FLUSH_TIMEOUT_MS, decode: noData };
}

export interface VerifyOptions extends BlockRangeOptions, CdbPaddingOptions {
  /** DPO bit. */
  dpo?: boolean;
  /** Timeout; default 60 s (the device reads every block). */
  timeoutMs?: number;
}

/**
 * VERIFY(10) (SBC-3, VERIFY(10)) with BYTCHK=0: the device checks that the blocks can
 * be read; no data is transferred. 2F <dpo|bytchk> <lba:4> 00 <blocks:2> 00.
 */
export function verify10(options: VerifyOptions): ScsiCommand<undefined> {
  requireOptions('VERIFY(10)', options);
  const lba = checkInteger('VERIFY(10) LBA', options.lba, U32);
  const blocks = checkInteger('VERIFY(10) verification length (blocks)', options.blocks, U16, 1);
  const cdb = makeCdb(10, ScsiOpcode.Verify10, options);
  if (options.dpo === true) cdb[1] = 0x10;
  putU32(cdb, 2, lba);
  putU16(cdb, 7, blocks);
  return { name: 'VERIFY(10)', cdb, direction: 'none', length: 0, timeoutMs: options.timeoutMs ?? 60_000, decode: noData };
}

/** POWER CONDITION values of START STOP UNIT (SBC-3, START STOP UNIT). */
export const PowerCondition = {
  StartValid: 0x0,
  Active: 0x1,
  Idle: 0x2,
  Standby: 0x3,
  LuControl: 0x7,
  ForceIdle0: 0xa,
  ForceStandby0: 0xb,
} as const;
export type PowerCondition = (typeof PowerCondition)[keyof typeof PowerCondition];

export interface StartStopUnitOptions extends CdbPaddingOptions {
  /** START: true spins up / makes ready, false stops. Default false. */
  start?: boolean;
  /** LOEJ: with start=false ejects the medium, with start=true loads it. */
  loadEject?: boolean;
  /** IMMED: return before the operation completes. */
  immediate?: boolean;
  /** POWER CONDITION (0-15); when not StartValid, START and LOEJ are ignored by the device. */
  powerCondition?: number;
  /** NO_FLUSH: do not flush the cache before stopping. */
  noFlush?: boolean;
  /** Timeout; default 60 s (spin-up and eject are slow). */
  timeoutMs?: number;
}

/** START STOP UNIT (SBC-3, START STOP UNIT): 1B <immed> 00 <pc modifier> <pc|noflush|loej|start> 00. */
export function startStopUnit(options: StartStopUnitOptions = {}): ScsiCommand<undefined> {
  const power = checkInteger('START STOP UNIT power condition', options.powerCondition ?? 0, 0x0f);
  const cdb = makeCdb(6, ScsiOpcode.StartStopUnit, options);
  if (options.immediate === true) cdb[1] = 0x01;
  cdb[4] = (power << 4) | (options.noFlush === true ? 0x04 : 0) | (options.loadEject === true ? 0x02 : 0) | (options.start === true ? 0x01 : 0);
  return { name: 'START STOP UNIT', cdb, direction: 'none', length: 0, timeoutMs: options.timeoutMs ?? 60_000, decode: noData };
}

export interface PreventAllowMediumRemovalOptions extends CdbPaddingOptions {
  /** true: prevent removal (lock the tray/slot); false: allow it. */
  prevent: boolean;
}

/** PREVENT ALLOW MEDIUM REMOVAL (SBC-3 §5.9): 1E 00 00 00 <prevent> 00. */
export function preventAllowMediumRemoval(options: PreventAllowMediumRemovalOptions): ScsiCommand<undefined> {
  requireOptions('PREVENT ALLOW MEDIUM REMOVAL', options);
  if (typeof options.prevent !== 'boolean') throw new InvalidArgumentError('PREVENT ALLOW MEDIUM REMOVAL: prevent must be true or false');
  const cdb = makeCdb(6, ScsiOpcode.PreventAllowMediumRemoval, options);
  cdb[4] = options.prevent ? 0x01 : 0x00;
  return { name: 'PREVENT ALLOW MEDIUM REMOVAL', cdb, direction: 'none', length: 0, decode: noData };
}

export interface ReadFormatCapacitiesOptions extends CdbPaddingOptions {
  /** Allocation length, 12-65535; default 252 (Windows asks for 0xFC). */
  allocationLength?: number;
}

/**
 * READ FORMAT CAPACITIES (USB UFI 1.0; MMC): 23 00 00 00 00 00 00 <alloc:2> 00.
 * Many bridges and QEMU reject it (05/20/00); floppy-style devices need it.
 */
export function readFormatCapacities(options: ReadFormatCapacitiesOptions = {}): ScsiCommand<FormatCapacities> {
  const length = checkInteger('READ FORMAT CAPACITIES allocation length', options.allocationLength ?? 252, U16, 12);
  const cdb = makeCdb(10, ScsiOpcode.ReadFormatCapacities, options);
  putU16(cdb, 7, length);
  return { name: 'READ FORMAT CAPACITIES', cdb, direction: 'in', length, decode: decodeReadFormatCapacities };
}
