/**
 * `LogicalUnit`: the typed SCSI commands and block I/O of one LUN. Commands go through
 * `MscDevice.runRaw` (queue, retry policy) and `MscDevice.execute`; this file owns what the LUN knows
 * (INQUIRY data, cached capacity, write protection, Block Limits, unflushed writes).
 */

import type { MscDevice } from './device.js';
import type { PipelinedCommand } from './device-exchanges.js';
import type { BlockReadOptions, BlockWriteOptions, ExecuteRequest, ExecuteResult, RunOptions } from './device-options.js';
import {
  InvalidArgumentError,
  ParseError,
  PartialWriteError,
  ReadOnlyError,
  ScsiCheckConditionError,
  TransportError,
  UnsupportedError,
  VerifyMismatchError,
  WriteProtectedError,
} from './errors.js';
import type { Quirks } from './quirks.js';
import type { Capacity } from './scsi/capacity.js';
import type { CommandOptions, ScsiCommand } from './scsi/command.js';
import * as scsi from './scsi/index.js';
import { type SenseData, SenseKey } from './sense/types.js';

/** REQUEST SENSE allocation length: 18 bytes is what USB devices reliably answer (Linux US_SENSE_SIZE). */
export const SENSE_LENGTH = 18;
/** Largest block size accepted from READ CAPACITY; anything beyond is garbage from the device. */
const MAX_BLOCK_SIZE = 1 << 20;

function checkCount(name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min} (got ${value})`);
  }
}

/** READ(10), or READ(16) where the LBA or count needs it. */
function readCommand(lba: number, blocks: number, blockSize: number): ScsiCommand<unknown> {
  return lba + blocks - 1 > 0xffffffff || blocks > 0xffff ? scsi.read16({ lba, blocks, blockSize }) : scsi.read10({ lba, blocks, blockSize });
}

/** WRITE(10), or WRITE(16) where the LBA or count needs it. */
function writeCommand(lba: number, data: Uint8Array, blockSize: number): ScsiCommand<unknown> {
  const blocks = data.length / blockSize;
  return lba + blocks - 1 > 0xffffffff || blocks > 0xffff ? scsi.write16({ lba, data, blockSize }) : scsi.write10({ lba, data, blockSize });
}

/** A read fails unless every block came back. */
function checkRead(name: string, lba: number, blocks: number, blockSize: number, result: ExecuteResult): Uint8Array {
  if (result.data.length !== blocks * blockSize) {
    throw new TransportError(`${name} at LBA ${lba} returned ${result.data.length} of ${blocks * blockSize} bytes`, {
      details: { lba, residue: result.residue },
    });
  }
  return result.data;
}

/**
 * What a {@link LogicalUnit} needs from its device: {@link MscDevice} locally,
 * `RemoteDevice` for a device served by `usbms serve` (see `remote/device.ts`).
 */
export interface LogicalUnitHost {
  readonly quirks: Quirks;
  readonly readOnly: boolean;
  readonly maxTransferBytes: number;
  /** Raw command: status, data, residue, sense (see MscDevice.execute). */
  execute(request: ExecuteRequest): Promise<ExecuteResult>;
  /** A built command with the retry policy, decoded (see MscDevice.run). */
  run<T>(command: ScsiCommand<T>, options?: RunOptions): Promise<T>;
  /** A built command with the retry policy, raw (status GOOD or an error). */
  runRaw(command: ScsiCommand<unknown>, options: RunOptions, into: Uint8Array | undefined): Promise<ExecuteResult>;
  /** Block commands back to back, each GOOD result to `done` (see MscDevice.runRawMany); without it, `runRaw` one by one. */
  runRawMany?(
    count: number,
    commandAt: (index: number) => PipelinedCommand,
    options: RunOptions,
    done: (index: number, result: ExecuteResult, command: PipelinedCommand) => void,
  ): Promise<void>;
}

/**
 * One logical unit of a device: typed SCSI commands and block I/O.
 * Obtain it with `device.lun(n)`.
 */
export class LogicalUnit<D extends LogicalUnitHost = MscDevice> {
  readonly device: D;
  readonly number: number;
  /** Standard INQUIRY data read when the device was opened (undefined if the LUN rejected INQUIRY). */
  inquiry: scsi.InquiryData | undefined;
  #capacity: Capacity | undefined;
  #writeProtected: boolean | undefined;
  #blockLimits: scsi.BlockLimits | undefined;
  #dirty = false;
  #capacityInFlight: { promise: Promise<Capacity>; signal: AbortSignal | undefined } | undefined;

  constructor(device: D, lun: number) {
    this.device = device;
    this.number = lun;
  }

  /** True when data was written since the last flush. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Capacity from the last READ CAPACITY, if any (invalidated on MEDIUM CHANGED). */
  get capacity(): Capacity | undefined {
    return this.#capacity;
  }

  /** @internal */
  invalidate(): void {
    this.#capacity = undefined;
    this.#writeProtected = undefined;
  }

  /** @internal */
  markWriteProtected(): void {
    this.#writeProtected = true;
  }

  /** @internal A write-class command was sent: SYNCHRONIZE CACHE at close. */
  markDirty(): void {
    this.#dirty = true;
  }

  /**
   * {@link MscDevice.run} on this LUN: runs a built command (`scsi.*` or
   * `defineCommand`) and returns its decoded response; CHECK CONDITION throws
   * ScsiCheckConditionError after the bounded retries.
   */
  run<T>(command: ScsiCommand<T>, options: CommandOptions = {}): Promise<T> {
    return this.device.run(command, { ...options, lun: this.number });
  }

  /**
   * {@link MscDevice.execute} on this LUN: sends a raw CDB and returns status,
   * data, residue and sense, without retries.
   */
  execute(request: Omit<ExecuteRequest, 'lun'>): Promise<ExecuteResult> {
    return this.device.execute({ ...request, lun: this.number });
  }

  /** TEST UNIT READY (SPC-4 §6.47); throws ScsiCheckConditionError when not ready. */
  testUnitReady(options: CommandOptions = {}): Promise<void> {
    return this.run(scsi.testUnitReady(), options);
  }

  /** REQUEST SENSE (SPC-4 §6.39): the LUN's current sense data. */
  requestSense(options: CommandOptions & { descriptor?: boolean } = {}): Promise<SenseData | undefined> {
    return this.run(scsi.requestSense({ allocationLength: SENSE_LENGTH, ...(options.descriptor ? { descriptor: true } : {}) }), options);
  }

  /** INQUIRY standard data (SPC-4 §6.6.2), read anew. */
  async readInquiry(options: CommandOptions = {}): Promise<scsi.InquiryData> {
    this.inquiry = await this.run(scsi.inquiry({ allocationLength: 36 }), options);
    return this.inquiry;
  }

  /** A VPD page's raw bytes (SPC-4 §7.8). */
  inquiryVpd(page: number, options: CommandOptions = {}): Promise<Uint8Array> {
    return this.#runVpd(scsi.inquiryVpd({ page }), options);
  }

  /** Supported VPD pages (page 0x00). */
  vpdPages(options: CommandOptions = {}): Promise<number[]> {
    return this.#runVpd(scsi.inquirySupportedVpdPages(), options);
  }

  /** Unit serial number (page 0x80). */
  serialNumber(options: CommandOptions = {}): Promise<string> {
    return this.#runVpd(scsi.inquiryUnitSerialNumber(), options);
  }

  /** Device identification designators (page 0x83). */
  deviceIdentification(options: CommandOptions = {}): Promise<scsi.Designator[]> {
    return this.#runVpd(scsi.inquiryDeviceIdentification(), options);
  }

  /** Quirk noVpdPages (its one point of use): the device hangs on INQUIRY with EVPD, so nothing is sent. */
  async #runVpd<T>(command: ScsiCommand<T>, options: CommandOptions): Promise<T> {
    if (this.device.quirks.noVpdPages) {
      throw new UnsupportedError(`${command.name} not sent: the noVpdPages quirk is set for this device (it hangs on VPD pages)`);
    }
    return this.run(command, options);
  }

  /**
   * Block limits (page 0xB0, SBC-3 §6.5.3). Once read, block I/O keeps every
   * command within its MAXIMUM TRANSFER LENGTH.
   */
  async blockLimits(options: CommandOptions = {}): Promise<scsi.BlockLimits> {
    this.#blockLimits = await this.#runVpd(scsi.inquiryBlockLimits(), options);
    return this.#blockLimits;
  }

  /** Block device characteristics (page 0xB1, SBC-3 §6.5.2). */
  blockDeviceCharacteristics(options: CommandOptions = {}): Promise<scsi.BlockDeviceCharacteristics> {
    return this.#runVpd(scsi.inquiryBlockDeviceCharacteristics(), options);
  }

  /**
   * READ CAPACITY(10), then (16) when (10) reports 0xFFFFFFFF and no quirk
   * forbids it (SBC-3 §5.15). The result is cached for block I/O.
   */
  async readCapacity(options: CommandOptions = {}): Promise<Capacity> {
    const quirks = this.device.quirks;
    let first: { lastLba: number; blockSize: number } | undefined;
    if (quirks.readCapacity16First && !quirks.noReadCapacity16) {
      // Quirk readCapacity16First (Linux US_FL_NEEDS_CAP16): (16) first; (10) only if the device rejects it.
      first = await this.run(scsi.readCapacity16(), options).catch((error: unknown) => {
        if (error instanceof ScsiCheckConditionError) return undefined;
        throw error;
      });
    }
    const c10 = first ?? (await this.run(scsi.readCapacity10(), options));
    let lastLba = c10.lastLba;
    let blockSize = c10.blockSize;
    if (first === undefined && lastLba === 0xffffffff && !quirks.noReadCapacity16) {
      const c16 = await this.run(scsi.readCapacity16(), options);
      lastLba = c16.lastLba;
      blockSize = c16.blockSize;
    }
    // Quirk fixCapacity: some bridges report the number of blocks instead of the last LBA (Linux US_FL_FIX_CAPACITY).
    if (this.device.quirks.fixCapacity && lastLba > 0) lastLba -= 1;
    if (blockSize === 0 || blockSize > MAX_BLOCK_SIZE) {
      throw new ParseError('READ CAPACITY data', `block size ${blockSize} is not usable`);
    }
    if (!Number.isSafeInteger(lastLba + 1) || !Number.isSafeInteger((lastLba + 1) * blockSize)) {
      throw new ParseError('READ CAPACITY data', `capacity of ${lastLba + 1} blocks of ${blockSize} bytes is beyond what usbms can address`);
    }
    this.#capacity = { lastLba, blockSize, blocks: lastLba + 1, bytes: (lastLba + 1) * blockSize };
    return this.#capacity;
  }

  /** READ FORMAT CAPACITIES (MMC/UFI; many USB devices answer it). */
  readFormatCapacities(options: CommandOptions = {}): Promise<scsi.FormatCapacities> {
    return this.run(scsi.readFormatCapacities(), options);
  }

  /** MODE SENSE of all pages (6- or 10-byte form, per quirks): header, write-protect, caching page. */
  modeSense(options: CommandOptions & { page?: number } = {}): Promise<scsi.ModeSenseData> {
    const page = options.page ?? 0x3f;
    return this.run(this.device.quirks.avoid6ByteCommands ? scsi.modeSense10({ page }) : scsi.modeSense6({ page }), options);
  }

  /** Write-protect bit of the MODE SENSE header (SBC-3 §6.4.1 WP). */
  async isWriteProtected(options: CommandOptions = {}): Promise<boolean> {
    // Quirk noWriteProtectDetect (Linux US_FL_NO_WP_DETECT): the device chokes on MODE SENSE; assume writable.
    if (this.device.quirks.noWriteProtectDetect) return this.#writeProtected ?? false;
    const mode = await this.modeSense(options);
    this.#writeProtected = mode.writeProtected;
    return mode.writeProtected;
  }

  /** START STOP UNIT (SBC-3 §5.25). */
  startStop(params: { start?: boolean; loadEject?: boolean }, options: CommandOptions = {}): Promise<void> {
    return this.run(scsi.startStopUnit({ start: params.start ?? false, loadEject: params.loadEject ?? false }), options);
  }

  /** Flushes, allows removal and ejects the medium. */
  async eject(options: CommandOptions = {}): Promise<void> {
    if (this.#dirty) await this.flush(options);
    if (!this.device.quirks.noPreventRemoval) {
      await this.preventRemoval(false, options).catch((error: unknown) => {
        if (!(error instanceof ScsiCheckConditionError)) throw error;
      });
    }
    await this.startStop({ start: false, loadEject: true }, options);
    this.invalidate();
  }

  /** PREVENT ALLOW MEDIUM REMOVAL (SPC-4 §6.13 / SBC-3). */
  async preventRemoval(prevent: boolean, options: CommandOptions = {}): Promise<void> {
    // Quirk noPreventRemoval (Linux US_FL_NOT_LOCKABLE): the device cannot lock its medium; nothing is sent.
    if (this.device.quirks.noPreventRemoval) {
      throw new UnsupportedError('PREVENT ALLOW MEDIUM REMOVAL not sent: the noPreventRemoval quirk is set for this device');
    }
    return this.run(scsi.preventAllowMediumRemoval({ prevent }), options);
  }

  /** REPORT LUNS (SPC-4 §6.33). Many USB devices reject it. */
  async reportLuns(options: CommandOptions = {}): Promise<number[]> {
    // Quirk noReportLuns (Linux US_FL_NO_REPORT_LUNS): the device hangs on it; nothing is sent.
    if (this.device.quirks.noReportLuns) {
      throw new UnsupportedError('REPORT LUNS not sent: the noReportLuns quirk is set for this device (it hangs on the command)');
    }
    return this.run(scsi.reportLuns(), options);
  }

  /**
   * The cached capacity, else one READ CAPACITY shared by every concurrent
   * caller. It runs with the options of the caller that started it; when that
   * caller aborts it, the others (whose signals did not fire) start another.
   */
  async #ensureCapacity(options: CommandOptions): Promise<Capacity> {
    for (;;) {
      if (this.#capacity !== undefined) return this.#capacity;
      let shared = this.#capacityInFlight;
      if (shared === undefined) {
        const promise = this.readCapacity(options);
        shared = { promise, signal: options.signal };
        this.#capacityInFlight = shared;
        const clear = (): void => {
          if (this.#capacityInFlight?.promise === promise) this.#capacityInFlight = undefined;
        };
        promise.then(clear, clear);
      }
      try {
        return await shared.promise;
      } catch (error) {
        // Another caller's abort ended the shared command: not this caller's failure.
        if (shared.signal?.aborted === true && shared.signal !== options.signal && options.signal?.aborted !== true) continue;
        throw error;
      }
    }
  }

  #checkRange(capacity: Capacity, lba: number, blocks: number): void {
    checkCount('LBA', lba);
    checkCount('block count', blocks, 1);
    if (lba + blocks > capacity.blocks) {
      throw new InvalidArgumentError(`blocks ${lba}..${lba + blocks - 1} are beyond the end of LUN ${this.number} (last LBA ${capacity.lastLba})`);
    }
  }

  /** `count` block commands in order through the device (pipelined where it can), each GOOD result to `done`. */
  async #runMany(
    count: number,
    commandAt: (index: number) => PipelinedCommand,
    options: RunOptions,
    done: (index: number, result: ExecuteResult, command: PipelinedCommand) => void,
  ): Promise<void> {
    if (this.device.runRawMany !== undefined) return this.device.runRawMany(count, commandAt, options, done);
    for (let i = 0; i < count; i++) {
      const next = commandAt(i);
      done(i, await this.device.runRaw(next.command, options, next.into), next);
    }
  }

  /** Blocks per READ/WRITE: the device's limit (quirk or speed default), and Block Limits if known. */
  #chunkBlocks(blockSize: number): number {
    const byBytes = Math.max(1, Math.floor(this.device.maxTransferBytes / blockSize));
    const max = this.#blockLimits?.maximumTransferLength;
    return max !== undefined && max > 0 ? Math.min(byBytes, max) : byBytes;
  }

  /**
   * Reads `blocks` blocks from `lba`, split into commands no larger than the
   * device's limit, assembled into one buffer (zero copies where the
   * transport fills it directly).
   */
  async read(lba: number, blocks: number, options: BlockReadOptions = {}): Promise<Uint8Array> {
    // Arguments first: nothing (not even READ CAPACITY) is sent for a request that cannot be valid.
    checkCount('LBA', lba);
    checkCount('block count', blocks, 1);
    if (options.into !== undefined && !(options.into instanceof Uint8Array)) throw new InvalidArgumentError('into must be a Uint8Array');
    const capacity = await this.#ensureCapacity(options);
    this.#checkRange(capacity, lba, blocks);
    const { blockSize } = capacity;
    const total = blocks * blockSize;
    if (options.into !== undefined && options.into.length !== total) {
      throw new InvalidArgumentError(`the read buffer holds ${options.into.length} bytes; ${blocks} blocks of ${blockSize} need ${total}`);
    }
    const chunk = this.#chunkBlocks(blockSize);
    // One command and no caller buffer: return the buffer the transport filled (it is the
    // caller's, see MscTransport.bulkIn) rather than allocating another and copying into it.
    if (options.into === undefined && blocks <= chunk) return this.#readCommand(lba, blocks, blockSize, options, undefined);
    const out = options.into ?? new Uint8Array(total);
    // Returned only if every command passed: a caller who gives up need not wait for its transfers.
    const scratch = options.into === undefined;
    // Back to back, pipelined where the transport can (MscDevice.runRawMany).
    await this.#runMany(
      Math.ceil(blocks / chunk),
      (i) => {
        const at = i * chunk;
        const count = Math.min(chunk, blocks - at);
        return { command: readCommand(lba + at, count, blockSize), into: out.subarray(at * blockSize, (at + count) * blockSize), scratch };
      },
      { ...options, lun: this.number },
      (i, result, { command, into: target = out }) => {
        const data = checkRead(command.name, lba + i * chunk, target.length / blockSize, blockSize, result);
        // The transport may not support filling a caller's buffer: then copy once.
        if (data.buffer !== target.buffer || data.byteOffset !== target.byteOffset) target.set(data);
      },
    );
    return out;
  }

  /** One READ(10), or READ(16) where the LBA or count needs it; fails unless every block came back. */
  async #readCommand(lba: number, blocks: number, blockSize: number, options: RunOptions, into: Uint8Array | undefined): Promise<Uint8Array> {
    const command = readCommand(lba, blocks, blockSize);
    const result = await this.device.runRaw(command, { ...options, lun: this.number }, into);
    return checkRead(command.name, lba, blocks, blockSize, result);
  }

  /**
   * Writes `data` (a whole number of blocks) at `lba`, split into commands no
   * larger than the device's limit. Call `flush()` (or close the device) to
   * make sure the data left the device's cache.
   */
  async write(lba: number, data: Uint8Array, options: BlockWriteOptions = {}): Promise<void> {
    if (this.device.readOnly) throw new ReadOnlyError(`write refused: the device was opened read-only`);
    // Arguments first: nothing (not even READ CAPACITY) is sent for a request that cannot be valid.
    checkCount('LBA', lba);
    if (!(data instanceof Uint8Array) || data.length === 0) {
      throw new InvalidArgumentError(`write data must be a non-empty Uint8Array of whole blocks, got ${data instanceof Uint8Array ? '0 bytes' : typeof data}`);
    }
    const capacity = await this.#ensureCapacity(options);
    const { blockSize } = capacity;
    if (data.length === 0 || data.length % blockSize !== 0) {
      throw new InvalidArgumentError(`write data must be a non-zero multiple of the block size ${blockSize}, got ${data.length} bytes`);
    }
    const blocks = data.length / blockSize;
    this.#checkRange(capacity, lba, blocks);
    if (this.#writeProtected) {
      throw new WriteProtectedError(`write refused: the medium in LUN ${this.number} is write-protected`);
    }
    const chunk = this.#chunkBlocks(blockSize);
    let done = 0;

    try {
      this.#dirty = true;
      // Back to back, pipelined where the transport can (MscDevice.runRawMany); `done` counts what the device took.
      await this.#runMany(
        Math.ceil(blocks / chunk),
        (i) => ({ command: writeCommand(lba + i * chunk, data.subarray(i * chunk * blockSize, Math.min(blocks, (i + 1) * chunk) * blockSize), blockSize) }),
        { ...options, lun: this.number },
        (i, result, { command }) => {
          const at = lba + i * chunk;
          const slice = command.data ?? new Uint8Array(0);
          const count = slice.length / blockSize;
          if (result.residue > 0) {
            // GOOD, yet the device did not take everything (data-out stall or short transfer, or
            // dCSWDataResidue, BOT 1.0 §6.7.3): only whole blocks before the residue count as written,
            // as Linux counts good bytes as the transfer length minus the residue.
            const took = Math.floor((slice.length - Math.min(result.residue, slice.length)) / blockSize);
            const written = done + took;
            throw new PartialWriteError(
              `${command.name} at LBA ${at} on LUN ${this.number}: the device took ${took} of ${count} blocks (residue ${result.residue} bytes); ` +
                `${written} of ${blocks} blocks from LBA ${lba} were written, resume at LBA ${lba + written}`,
              { lba, blocks, blocksWritten: written, residue: result.residue },
            );
          }
          done += count;
        },
      );
    } catch (error) {
      if (error instanceof PartialWriteError || done === 0) throw error;
      // An earlier command of this write went through: say how far, with the failure as the cause.
      throw new PartialWriteError(
        `write to LUN ${this.number} stopped after ${done} of ${blocks} blocks from LBA ${lba} (resume at LBA ${lba + done}): ${error instanceof Error ? error.message : String(error)}`,
        { lba, blocks, blocksWritten: done },
        { cause: error },
      );
    }
    if (options.verify) {
      const back = await this.read(lba, blocks, options);
      for (let i = 0; i < data.length; i++) {
        if (back[i] !== data[i]) {
          const bad = lba + Math.floor(i / blockSize);
          throw new VerifyMismatchError(`read-back of LUN ${this.number} differs at LBA ${bad} (byte ${i % blockSize})`, { details: { lba: bad } });
        }
      }
    }
  }

  /**
   * SYNCHRONIZE CACHE(10) of the whole LUN (SBC-3 §5.22). A device without
   * the command (ILLEGAL REQUEST, invalid opcode) has no cache to flush.
   */
  async flush(options: CommandOptions = {}): Promise<void> {
    if (this.device.quirks.noSynchronizeCache) {
      this.#dirty = false;
      return;
    }
    try {
      await this.run(scsi.synchronizeCache10({}), options);
    } catch (error) {
      const sense = error instanceof ScsiCheckConditionError ? error.sense : undefined;
      if (!(sense?.senseKey === SenseKey.IllegalRequest && sense.asc === 0x20)) throw error;
    }
    this.#dirty = false;
  }

  /** VERIFY(10) with BYTCHK=0: the device checks the blocks are readable (SBC-3 §5.33). */
  async verify(lba: number, blocks: number, options: CommandOptions = {}): Promise<void> {
    checkCount('LBA', lba);
    checkCount('block count', blocks, 1);
    const capacity = await this.#ensureCapacity(options);
    this.#checkRange(capacity, lba, blocks);
    const chunk = Math.min(0xffff, Math.max(1, Math.floor((64 << 20) / capacity.blockSize)));
    for (let done = 0; done < blocks; ) {
      const count = Math.min(chunk, blocks - done);
      await this.run(scsi.verify10({ lba: lba + done, blocks: count }), options);
      done += count;
    }
  }
}
