import { appendFile, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { type CommandOptions, formatSense, InvalidArgumentError, PartialWriteError, ScsiCheckConditionError, SenseKey } from '@usbms/core';
import { messageOf } from '../map-error.js';
import { canConfirm, confirm, deviceLabel } from './confirm.js';
import { type CliContext, intOption } from './context.js';
import { CliError, CliErrorCode, convertErrno, ExitCode, fileError } from './exit.js';
import { formatBytes, toJson } from './format.js';
import { Progress } from './progress.js';
import { ChunkReader, readAhead, TwoBuffers } from './read-ahead.js';
import {
  addSample,
  areCounts,
  type BlockSample,
  checkResumable,
  type DeviceIdentity,
  deviceIdentity,
  isDeviceIdentity,
  isSampleList,
  resumeRefused,
} from './resume.js';
import { ioBlocks } from './units.js';

/**
 * Progress record of an interrupted dump, stored beside FILE.partial as
 * FILE.partial.json. Blocks [firstLba, firstLba + doneBlocks) are in the
 * partial file; it is written only after the data it describes, so it never
 * claims more than is there.
 */
export interface DumpProgress {
  format: 'usbms-dump/2';
  device: string;
  /** The device the dump reads (a resume refuses another one). */
  identity: DeviceIdentity;
  /** A few copied blocks and their hashes, read back before resuming. */
  samples: BlockSample[];
  lun: number;
  blockSize: number;
  firstLba: number;
  blocks: number;
  doneBlocks: number;
  badBlocks: number[];
  updated: string;
}

export interface DumpOptions {
  output: string;
  lba?: string;
  count?: string;
  chunkBlocks?: string;
  skipBad?: boolean;
  badLog?: string;
  resume?: boolean;
  overwrite?: boolean;
}

const METADATA_INTERVAL_MS = 250;
/** A restore records progress (after a flush) at most this often. */
const RESTORE_RECORD_INTERVAL_MS = 1000;
/** The flush after a restore stopped: short, the user is waiting. */
const STOP_FLUSH_TIMEOUT_MS = 10_000;

/** Replaces a progress record at once: written beside it, then renamed over it. */
async function replaceRecord(path: string, record: object): Promise<void> {
  await writeFile(`${path}.tmp`, toJson(record));
  await rename(`${path}.tmp`, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A progress record, or why it cannot be used: `missing` (no record), `unreadable` (not JSON, or not
 * a record this version wrote: `valid` says no).
 */
async function loadRecord<T>(path: string, valid: (record: Partial<T>) => boolean): Promise<T | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 'missing';
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'unreadable';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'unreadable';
  return valid(parsed as Partial<T>) ? (parsed as T) : 'unreadable';
}

/** A dump's progress record (a version-1 record has no device identity, so it cannot be checked: unreadable). */
const loadProgress = (path: string): Promise<DumpProgress | 'missing' | 'unreadable'> =>
  loadRecord<DumpProgress>(
    path,
    (p) =>
      p.format === 'usbms-dump/2' &&
      areCounts(p.lun, p.blockSize, p.firstLba, p.blocks, p.doneBlocks) &&
      Array.isArray(p.badBlocks) &&
      isDeviceIdentity(p.identity) &&
      isSampleList(p.samples),
  );

/** One read call of a dump: its blocks, the buffer they landed in, and how it failed, if it did. */
interface DumpCall {
  lba: number;
  n: number;
  view: Uint8Array;
  error?: unknown;
}

/** Medium errors (and hardware errors reading a block) are what --skip-bad skips. */
function isUnreadable(error: unknown): error is ScsiCheckConditionError {
  return error instanceof ScsiCheckConditionError && (error.sense?.senseKey === SenseKey.MediumError || error.sense?.senseKey === SenseKey.HardwareError);
}

/**
 * `dump -o FILE`: copies a LUN into FILE.partial, recording progress in
 * FILE.partial.json, and renames it to FILE when complete. Re-running the
 * same command resumes after the last recorded block.
 */
export async function cmdDump(ctx: CliContext, opts: DumpOptions): Promise<void> {
  const output = opts.output;
  const partial = `${output}.partial`;
  const metaPath = `${partial}.json`;
  const badLog = opts.badLog ?? `${output}.badblocks`;
  if ((await exists(output)) && opts.overwrite !== true) {
    throw new CliError(`${output} already exists; remove it or pass --overwrite`, {
      exitCode: convertErrno(17),
      code: CliErrorCode.File,
      details: { path: output, errno: 'EEXIST' },
    });
  }
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  const o = ctx.callOptions;
  const cap = await lu.readCapacity(o);
  const firstLba = intOption('lba', opts.lba, 0);
  if (firstLba >= cap.blocks) throw new InvalidArgumentError(`--lba ${firstLba} is beyond the last LBA ${cap.lastLba}`);
  const blocks = opts.count === undefined ? cap.blocks - firstLba : intOption('count', opts.count, 0);
  if (blocks === 0 || firstLba + blocks > cap.blocks) {
    throw new InvalidArgumentError(`--count ${blocks} from LBA ${firstLba} does not fit the ${cap.blocks}-block medium`);
  }
  const io = ioBlocks(device.maxTransferBytes, cap.blockSize);
  // --chunk-blocks: blocks per READ command (at most the device's); by default 16 of the device's commands per read call, one pipeline.
  const commandBlocks = opts.chunkBlocks === undefined ? io.command : Math.min(io.command, intOption('chunk-blocks', opts.chunkBlocks, 1));
  const chunk = opts.chunkBlocks === undefined ? io.call : commandBlocks;
  const label = deviceLabel(ctx, device);

  const identity = await deviceIdentity(device, lu, cap, o);
  const startOver = `usbms dump -o ${output} --no-resume (or delete ${partial} and ${metaPath})`;

  // Resume only the same dump of the same device, and only when blocks already copied still read the same.
  let state: DumpProgress = {
    format: 'usbms-dump/2',
    device: label,
    identity,
    samples: [],
    lun: lu.number,
    blockSize: cap.blockSize,
    firstLba,
    blocks,
    doneBlocks: 0,
    badBlocks: [],
    updated: new Date().toISOString(),
  };
  let resumed = false;
  if (opts.resume !== false && (await exists(partial))) {
    const previous = await loadProgress(metaPath);
    if (previous === 'unreadable') {
      throw resumeRefused(`the dump in ${partial}`, metaPath, 'its progress record is unreadable or from an older usbms', undefined, identity, startOver);
    }
    if (previous !== 'missing') {
      await checkResumable(
        lu,
        previous,
        {
          what: `the dump in ${partial}`,
          progressPath: metaPath,
          current: identity,
          startOver,
          otherDevice: (fields) => `it was made from another device (${fields} differ)`,
          otherRange:
            previous.firstLba !== firstLba || previous.blocks !== blocks
              ? `it covers LBA ${previous.firstLba}+${previous.blocks}, this command LBA ${firstLba}+${blocks}`
              : undefined,
          changed: (lba) => `block ${lba} no longer reads back as when it was copied (another medium, or it changed since)`,
        },
        o,
      );
      if (previous.doneBlocks > 0) {
        state = { ...previous, device: label, doneBlocks: Math.min(previous.doneBlocks, blocks) };
        resumed = true;
      }
    }
  }
  const file = await open(partial, resumed ? 'r+' : 'w+');
  const total = blocks * cap.blockSize;
  const progress = new Progress('dump', total, state.doneBlocks * cap.blockSize, process.stderr.isTTY === true && !ctx.json);
  if (resumed) ctx.note(`resuming ${partial} at block ${state.doneBlocks} of ${blocks} (${formatBytes(state.doneBlocks * cap.blockSize)} already copied)`);

  let lastSaved = 0;
  let firstCall = true;
  const save = async (force: boolean): Promise<void> => {
    const now = performance.now();
    if (!force && now - lastSaved < METADATA_INTERVAL_MS) return;
    lastSaved = now;
    // Data first, then the record that claims it (crash-safe ordering).
    await file.datasync();
    state.updated = new Date().toISOString();
    await replaceRecord(metaPath, state);
  };

  // Two buffers: the device reads the next call into one while the call before is written to the
  // file from the other (and its record made durable), so the device never waits for the disk.
  const buffers = new TwoBuffers(chunk * cap.blockSize);
  const from = state.doneBlocks;
  const readCall = (index: number): Promise<DumpCall> => {
    const done = from + index * chunk;
    const n = Math.min(chunk, blocks - done);
    const lba = firstLba + done;
    const view = buffers.view(index, n * cap.blockSize);
    // A failure is a value here: --skip-bad narrows it down in turn, after the calls before it are stored.
    return lu.read(lba, n, { ...o, into: view }).then(
      () => ({ lba, n, view }),
      (error: unknown) => ({ lba, n, view, error }),
    );
  };
  try {
    await save(true);
    await readAhead(Math.ceil((blocks - from) / chunk), readCall, async (_, call) => {
      const { lba, n, view } = call;
      if (call.error !== undefined) {
        const error = call.error;
        if (!(opts.skipBad === true && isUnreadable(error))) throw error;
        // Narrow it down command by command, then block by block; unreadable blocks become zeros and are logged.
        for (let c = 0; c < n; c += commandBlocks) {
          const count = Math.min(commandBlocks, n - c);
          try {
            await lu.read(lba + c, count, { ...o, into: view.subarray(c * cap.blockSize, (c + count) * cap.blockSize) });
            continue;
          } catch (commandError) {
            if (!isUnreadable(commandError)) throw commandError;
          }
          for (let i = c; i < c + count; i++) {
            const one = view.subarray(i * cap.blockSize, (i + 1) * cap.blockSize);
            try {
              await lu.read(lba + i, 1, { ...o, into: one });
            } catch (blockError) {
              if (!isUnreadable(blockError)) throw blockError;
              one.fill(0);
              state.badBlocks.push(lba + i);
              await appendFile(badLog, `${lba + i}\t${blockError.sense ? formatSense(blockError.sense) : blockError.message}\n`);
              ctx.note(`unreadable block ${lba + i} skipped (${blockError.sense ? formatSense(blockError.sense) : blockError.message})`);
            }
          }
        }
      }
      await file.write(view, 0, view.length, state.doneBlocks * cap.blockSize);
      if (!state.badBlocks.includes(lba)) addSample(state.samples, lba, view.subarray(0, cap.blockSize));
      state.doneBlocks += n;
      progress.update(state.doneBlocks * cap.blockSize, total);
      // The first call's progress is recorded at once (a Ctrl-C right after it resumes from there), later ones at most every METADATA_INTERVAL_MS.
      await save(firstCall);
      firstCall = false;
    });
    await save(true);
  } catch (error) {
    // Keep FILE.partial and its record so the same command resumes.
    await save(true).catch(() => undefined);
    progress.stop();
    await file.close();
    ctx.note(`dump stopped at block ${state.doneBlocks} of ${blocks}; ${partial} kept, run the same command to resume`);
    if (isUnreadable(error) && opts.skipBad !== true) {
      ctx.note(
        `block(s) from LBA ${firstLba + state.doneBlocks} are unreadable; add --skip-bad to zero-fill unreadable blocks, list them in ${badLog} and go on`,
      );
    }
    throw error;
  }
  progress.stop();
  await file.close();
  await rename(partial, output);
  await rm(metaPath, { force: true });
  ctx.markWhole();
  const result = {
    output,
    lun: lu.number,
    firstLba,
    blocks,
    blockSize: cap.blockSize,
    bytes: total,
    resumed,
    badBlocks: state.badBlocks,
    rate: Math.round(progress.rate),
  };
  if (ctx.json) return ctx.out(toJson(result));
  ctx.out(`dumped ${blocks} blocks (${formatBytes(total)}) from LUN ${lu.number} to ${output}${resumed ? ' (resumed)' : ''}`);
  if (state.badBlocks.length > 0) ctx.out(`${state.badBlocks.length} unreadable blocks were zero-filled; list in ${badLog}`);
}

/**
 * Progress of an interrupted restore, beside the image as IMAGE.restore.json:
 * blocks [firstLba, firstLba + doneBlocks) were written and flushed: recorded
 * only after a SYNCHRONIZE CACHE that covered them succeeded, so a resume after
 * a power loss never skips blocks that were still in the device's volatile cache.
 */
export interface RestoreProgress {
  format: 'usbms-restore/1';
  input: string;
  inputBytes: number;
  identity: DeviceIdentity;
  /** Image blocks already written and their hashes; a resume reads them back from the device. */
  samples: BlockSample[];
  firstLba: number;
  blocks: number;
  doneBlocks: number;
  updated: string;
}

const loadRestoreProgress = (path: string): Promise<RestoreProgress | 'missing' | 'unreadable'> =>
  loadRecord<RestoreProgress>(
    path,
    (p) =>
      p.format === 'usbms-restore/1' && areCounts(p.inputBytes, p.firstLba, p.blocks, p.doneBlocks) && isDeviceIdentity(p.identity) && isSampleList(p.samples),
  );

export interface RestoreOptions {
  input: string;
  lba?: string;
  yes?: boolean;
  verify?: boolean;
  resume?: boolean;
}

/**
 * `restore -i FILE`: writes an image back to a LUN, streaming it in
 * device-sized chunks. Progress goes to FILE.restore.json; the same command
 * resumes an interrupted restore of the same image to the same device.
 */
export async function cmdRestore(ctx: CliContext, opts: RestoreOptions): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(opts.input);
  } catch (error) {
    throw fileError(`cannot read ${opts.input}: ${(error as Error).message}`, opts.input, error);
  }
  const firstLba = intOption('lba', opts.lba, 0);
  canConfirm(`restore ${opts.input}`, opts.yes);
  const metaPath = `${opts.input}.restore.json`;
  const device = await ctx.open({ writable: true });
  const lu = device.lun(ctx.lun);
  const o = ctx.callOptions;
  const cap = await lu.readCapacity(o);
  if (info.size === 0 || info.size % cap.blockSize !== 0) {
    throw new InvalidArgumentError(`${opts.input} is ${info.size} bytes, not a whole number of ${cap.blockSize}-byte blocks`);
  }
  const blocks = info.size / cap.blockSize;
  if (firstLba + blocks > cap.blocks) {
    throw new InvalidArgumentError(`${opts.input} holds ${blocks} blocks; from LBA ${firstLba} only ${Math.max(0, cap.blocks - firstLba)} fit`);
  }
  const identity = await deviceIdentity(device, lu, cap, o);
  const startOver = `usbms restore -i ${opts.input} --no-resume (or delete ${metaPath})`;
  let state: RestoreProgress = {
    format: 'usbms-restore/1',
    input: opts.input,
    inputBytes: info.size,
    identity,
    samples: [],
    firstLba,
    blocks,
    doneBlocks: 0,
    updated: new Date().toISOString(),
  };
  let resumed = false;
  if (opts.resume !== false) {
    const previous = await loadRestoreProgress(metaPath);
    if (previous === 'unreadable')
      throw resumeRefused(`the restore of ${opts.input}`, metaPath, 'its progress record is unreadable', undefined, identity, startOver);
    if (previous !== 'missing') {
      await checkResumable(
        lu,
        previous,
        {
          what: `the restore of ${opts.input}`,
          progressPath: metaPath,
          current: identity,
          startOver,
          otherDevice: (fields) => `it was writing another device (${fields} differ)`,
          otherRange:
            previous.firstLba !== firstLba || previous.inputBytes !== info.size
              ? `it wrote ${previous.inputBytes} bytes from LBA ${previous.firstLba}, this command ${info.size} bytes from LBA ${firstLba}`
              : undefined,
          changed: (lba) => `block ${lba} on the device does not hold what was written there (another medium, or it changed since)`,
        },
        o,
      );
      state = { ...previous, doneBlocks: Math.min(previous.doneBlocks, blocks) };
      resumed = state.doneBlocks > 0;
    }
  }
  await confirm(
    ctx,
    `restore ${opts.input} (${formatBytes(info.size)}) over LBA ${firstLba}-${firstLba + blocks - 1} of LUN ${lu.number} on ${deviceLabel(ctx, device)}` +
      (resumed ? `, resuming at block ${state.doneBlocks}` : ''),
    opts.yes,
  );
  if (resumed) ctx.note(`resuming the restore of ${opts.input} at block ${state.doneBlocks} of ${blocks} (progress in ${metaPath})`);

  let lastSaved = 0;
  let firstCall = true;
  let saveFailed = false;
  // Blocks written since the last record; `state` describes only blocks the device has flushed.
  let written = state.doneBlocks;
  const samples = [...state.samples];
  const record = async (): Promise<void> => {
    state = { ...state, doneBlocks: written, samples: [...samples], updated: new Date().toISOString() };
    try {
      await replaceRecord(metaPath, state);
    } catch (error) {
      saveFailed = true;
      ctx.note(`warning: cannot record progress in ${metaPath} (${(error as Error).message}); an interrupted restore will start over`);
    }
  };
  // A WRITE the device acknowledged may still sit in its volatile cache (SBC-3 §4.15): the record
  // claims blocks only once a SYNCHRONIZE CACHE covering them succeeded, at most every
  // RESTORE_RECORD_INTERVAL_MS (one flush per record).
  const save = async (force: boolean, flushOptions: CommandOptions = o): Promise<void> => {
    const now = performance.now();
    if (saveFailed || written === state.doneBlocks || (!force && now - lastSaved < RESTORE_RECORD_INTERVAL_MS)) return;
    lastSaved = now;
    await lu.flush(flushOptions);
    await record();
  };

  const chunk = ioBlocks(device.maxTransferBytes, cap.blockSize).call;
  const file = await open(opts.input, 'r');
  // The next chunk is read from the file while the device writes the one before (ChunkReader), so
  // the device never waits for the disk. Only the device's writes are in order; file reads are not writes.
  const chunks = new ChunkReader(chunk, blocks, cap.blockSize, async (into, position) => (await file.read(into, 0, into.length, position)).bytesRead);
  const progress = new Progress('restore', info.size, state.doneBlocks * cap.blockSize, process.stderr.isTTY === true && !ctx.json);
  try {
    while (written < blocks) {
      const current = await chunks.take(written);
      const { view } = current;
      const n = view.length / cap.blockSize;
      const bytesRead = await current.bytesRead;
      if (bytesRead !== view.length) {
        throw new CliError(`${opts.input} changed while restoring (short read at block ${written})`, {
          exitCode: ExitCode.FileError,
          code: CliErrorCode.File,
        });
      }
      const lba = firstLba + written;
      let took = n;
      try {
        await lu.write(lba, view, { ...o, verify: opts.verify === true });
      } catch (error) {
        // The device took only part of the chunk: continue right after the last block it took
        // (each retry makes progress, so this ends); a write that took nothing stops the restore.
        if (!(error instanceof PartialWriteError) || error.blocksWritten === 0) throw error;
        took = error.blocksWritten;
        ctx.note(`the device took ${took} of ${n} blocks at LBA ${lba}; continuing at LBA ${lba + took}`);
      }
      addSample(samples, lba, view.subarray(0, cap.blockSize));
      written += took;
      progress.update(written * cap.blockSize, info.size);
      await save(firstCall);
      firstCall = false;
    }
    await lu.flush(o);
  } catch (error) {
    progress.stop();
    await chunks.settle();
    await file.close();
    // Stopped (Ctrl-C, an error): record what a flush makes durable now. The caller's signal may be
    // aborted already, so this flush has its own time limit; if it fails, the last record stands.
    let unflushed = '';
    try {
      await save(true, { timeoutMs: STOP_FLUSH_TIMEOUT_MS });
    } catch (flushError) {
      unflushed = `; the device did not confirm a flush of the last ${written - state.doneBlocks} blocks (${messageOf(flushError)}), so the resume writes them again`;
    }
    const done = state.doneBlocks;
    const last = done === 0 ? 'no block was written' : `the last block written is LBA ${firstLba + done - 1}`;
    ctx.note(`restore stopped after ${done} of ${blocks} blocks (${last})${unflushed}; run the same command to resume`);
    throw error;
  }
  progress.stop();
  await file.close();
  await rm(metaPath, { force: true });
  ctx.markWhole();
  const result = {
    input: opts.input,
    lun: lu.number,
    firstLba,
    blocks,
    bytes: info.size,
    resumed,
    verified: opts.verify === true,
    rate: Math.round(progress.rate),
  };
  if (ctx.json) return ctx.out(toJson(result));
  ctx.out(
    `restored ${blocks} blocks (${formatBytes(info.size)}) to LUN ${lu.number} at LBA ${firstLba}${resumed ? ' (resumed)' : ''}${opts.verify === true ? ', verified' : ''}`,
  );
}
