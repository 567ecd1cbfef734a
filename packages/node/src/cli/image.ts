import { appendFile, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { formatSense, InvalidArgumentError, ScsiCheckConditionError, SenseKey } from '@usbms/core';
import { confirm, deviceLabel } from './commands.js';
import { type CliContext, intOption } from './context.js';
import { CliError, CliErrorCode, convertErrno, ExitCode } from './exit.js';
import { formatBytes, toJson } from './format.js';
import { Progress } from './progress.js';

/**
 * Progress record of an interrupted dump, stored beside FILE.partial as
 * FILE.partial.json. Blocks [firstLba, firstLba + doneBlocks) are in the
 * partial file; it is written only after the data it describes, so it never
 * claims more than is there.
 */
export interface DumpProgress {
  format: 'usbms-dump/1';
  device: string;
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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function loadProgress(path: string): Promise<DumpProgress | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const p = parsed as Partial<DumpProgress>;
    const ints = [p.lun, p.blockSize, p.firstLba, p.blocks, p.doneBlocks];
    if (p.format !== 'usbms-dump/1' || !ints.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) || !Array.isArray(p.badBlocks)) return undefined;
    return p as DumpProgress;
  } catch {
    return undefined;
  }
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
  const chunk = Math.max(
    1,
    opts.chunkBlocks === undefined ? Math.floor(device.maxTransferBytes / cap.blockSize) : intOption('chunk-blocks', opts.chunkBlocks, 1),
  );
  const label = deviceLabel(ctx, device);

  // Resume when the partial file belongs to the same dump.
  let state: DumpProgress = {
    format: 'usbms-dump/1',
    device: label,
    lun: lu.number,
    blockSize: cap.blockSize,
    firstLba,
    blocks,
    doneBlocks: 0,
    badBlocks: [],
    updated: new Date().toISOString(),
  };
  const previous = opts.resume === false ? undefined : await loadProgress(metaPath);
  let resumed = false;
  if (previous !== undefined && (await exists(partial))) {
    const same = previous.blockSize === cap.blockSize && previous.firstLba === firstLba && previous.blocks === blocks && previous.lun === lu.number;
    if (!same) {
      throw new CliError(
        `${partial} belongs to a different dump (LUN ${previous.lun}, LBA ${previous.firstLba}+${previous.blocks} of ${previous.blockSize}-byte blocks); ` +
          `pass --no-resume to start over`,
      );
    }
    if (previous.doneBlocks > 0) {
      state = { ...previous, doneBlocks: Math.min(previous.doneBlocks, blocks) };
      resumed = true;
    }
  }
  const file = await open(partial, resumed ? 'r+' : 'w+');
  const total = blocks * cap.blockSize;
  const progress = new Progress('dump', total, state.doneBlocks * cap.blockSize, process.stderr.isTTY === true && !ctx.json);
  if (resumed) ctx.note(`resuming ${partial} at block ${state.doneBlocks} of ${blocks} (${formatBytes(state.doneBlocks * cap.blockSize)} already copied)`);

  let lastSaved = 0;
  const save = async (force: boolean): Promise<void> => {
    const now = performance.now();
    if (!force && now - lastSaved < METADATA_INTERVAL_MS) return;
    lastSaved = now;
    // Data first, then the record that claims it (crash-safe ordering).
    await file.datasync();
    state.updated = new Date().toISOString();
    await writeFile(`${metaPath}.tmp`, toJson(state));
    await rename(`${metaPath}.tmp`, metaPath);
  };

  const buffer = new Uint8Array(chunk * cap.blockSize);
  try {
    await save(true);
    while (state.doneBlocks < blocks) {
      const n = Math.min(chunk, blocks - state.doneBlocks);
      const lba = firstLba + state.doneBlocks;
      const view = buffer.subarray(0, n * cap.blockSize);
      try {
        await lu.read(lba, n, { ...o, into: view });
      } catch (error) {
        if (!(opts.skipBad === true && isUnreadable(error))) throw error;
        // Narrow it down block by block; unreadable blocks become zeros and are logged.
        for (let i = 0; i < n; i++) {
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
      await file.write(view, 0, view.length, state.doneBlocks * cap.blockSize);
      state.doneBlocks += n;
      progress.update(state.doneBlocks * cap.blockSize, total);
      await save(false);
    }
    await save(true);
  } catch (error) {
    // Keep FILE.partial and its record so the same command resumes.
    await save(true).catch(() => undefined);
    progress.stop();
    await file.close();
    ctx.note(`dump stopped at block ${state.doneBlocks} of ${blocks}; ${partial} kept, run the same command to resume`);
    throw error;
  }
  progress.stop();
  await file.close();
  await rename(partial, output);
  await rm(metaPath, { force: true });
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

/** `restore -i FILE`: writes an image back to a LUN, streaming it in device-sized chunks. */
export async function cmdRestore(ctx: CliContext, opts: { input: string; lba?: string; yes?: boolean; verify?: boolean }): Promise<void> {
  const info = await stat(opts.input);
  const device = await ctx.open({ writable: true });
  const lu = device.lun(ctx.lun);
  const o = ctx.callOptions;
  const cap = await lu.readCapacity(o);
  const firstLba = intOption('lba', opts.lba, 0);
  if (info.size === 0 || info.size % cap.blockSize !== 0) {
    throw new InvalidArgumentError(`${opts.input} is ${info.size} bytes, not a whole number of ${cap.blockSize}-byte blocks`);
  }
  const blocks = info.size / cap.blockSize;
  if (firstLba + blocks > cap.blocks) {
    throw new InvalidArgumentError(`${opts.input} holds ${blocks} blocks; from LBA ${firstLba} only ${Math.max(0, cap.blocks - firstLba)} fit`);
  }
  await confirm(
    ctx,
    `restore ${opts.input} (${formatBytes(info.size)}) over LBA ${firstLba}-${firstLba + blocks - 1} of LUN ${lu.number} on ${deviceLabel(ctx, device)}`,
    opts.yes,
  );
  const chunk = Math.max(1, Math.floor(device.maxTransferBytes / cap.blockSize));
  const buffer = new Uint8Array(chunk * cap.blockSize);
  const file = await open(opts.input, 'r');
  const progress = new Progress('restore', info.size, 0, process.stderr.isTTY === true && !ctx.json);
  try {
    for (let done = 0; done < blocks; ) {
      const n = Math.min(chunk, blocks - done);
      const view = buffer.subarray(0, n * cap.blockSize);
      const { bytesRead } = await file.read(view, 0, view.length, done * cap.blockSize);
      if (bytesRead !== view.length)
        throw new CliError(`${opts.input} changed while restoring (short read at block ${done})`, { exitCode: ExitCode.FileError, code: CliErrorCode.File });
      await lu.write(firstLba + done, view, { ...o, verify: opts.verify === true });
      done += n;
      progress.update(done * cap.blockSize, info.size);
    }
    await lu.flush(o);
  } finally {
    progress.stop();
    await file.close();
  }
  const result = { input: opts.input, lun: lu.number, firstLba, blocks, bytes: info.size, verified: opts.verify === true, rate: Math.round(progress.rate) };
  if (ctx.json) return ctx.out(toJson(result));
  ctx.out(`restored ${blocks} blocks (${formatBytes(info.size)}) to LUN ${lu.number} at LBA ${firstLba}${opts.verify === true ? ', verified' : ''}`);
}
