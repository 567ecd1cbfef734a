/**
 * Block I/O from the command line: `usbms read` (to a hex dump or a file), `usbms write` (from a
 * file, padded, verified, flushed) and `usbms bench` (sequential read/write throughput and TEST UNIT
 * READY latency). Each splits the range into commands of the device's `maxTransferBytes`, handed to
 * the logical unit 16 at a time so they go as one pipeline (units.ts COMMANDS_PER_CALL).
 */
import { InvalidArgumentError, type LogicalUnit } from '@usbms/core';
import { canConfirm, confirm, deviceLabel } from './confirm.js';
import { type CliContext, intOption } from './context.js';
import { formatBytes, hexDump, keyValues, toJson } from './format.js';
import { checkOutputPath, isStdio, readInput, writeOutput } from './output.js';
import { Progress } from './progress.js';
import { readAhead, TwoBuffers } from './read-ahead.js';
import { ioBlocks, parseCount, sizeOption } from './units.js';

/** `usbms read LBA BLOCKS`: a hex dump, or the bytes to a file (-o) or stdout (-o -). */
export async function cmdRead(ctx: CliContext, lbaText: string, blocksText: string, opts: { output?: string }): Promise<void> {
  const lba = parseCount(lbaText);
  const blocks = parseCount(blocksText);
  if (lba === undefined) throw new InvalidArgumentError(`LBA must be a non-negative integer, got "${lbaText}"`);
  if (blocks === undefined || blocks === 0) throw new InvalidArgumentError(`block count must be a positive integer, got "${blocksText}"`);
  if (opts.output !== undefined) await checkOutputPath(opts.output);
  if (opts.output !== undefined && isStdio(opts.output)) ctx.dataToStdout();
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  const cap = await lu.readCapacity(ctx.callOptions);
  const progress = new Progress('read', blocks * cap.blockSize, 0, process.stderr.isTTY === true && !ctx.json && blocks * cap.blockSize >= 16 << 20);
  const data = new Uint8Array(blocks * cap.blockSize);
  const chunk = ioBlocks(device.maxTransferBytes, cap.blockSize).call;
  try {
    // The next call queued while one runs (readAhead): the device goes from call to call at once.
    await readAhead(
      Math.ceil(blocks / chunk),
      (i) => {
        const done = i * chunk;
        const n = Math.min(chunk, blocks - done);
        return lu.read(lba + done, n, { ...ctx.callOptions, into: data.subarray(done * cap.blockSize, (done + n) * cap.blockSize) });
      },
      (i) => progress.update(Math.min(blocks, (i + 1) * chunk) * cap.blockSize, data.length),
    );
  } finally {
    progress.stop();
  }
  if (opts.output !== undefined) {
    await writeOutput(opts.output, data);
    if (ctx.json) ctx.out(toJson({ lba, blocks, blockSize: cap.blockSize, bytes: data.length, output: opts.output }));
    else ctx.note(`read ${blocks} blocks (${data.length} bytes) from LBA ${lba} to ${isStdio(opts.output) ? 'stdout' : opts.output}`);
    return;
  }
  if (ctx.json) return ctx.out(toJson({ lba, blocks, blockSize: cap.blockSize, data }));
  ctx.out(hexDump(data, { offset: lba * cap.blockSize }));
}

/** `usbms write LBA -i FILE`: writes whole blocks (--pad zero-fills the last), after confirmation. */
export async function cmdWrite(ctx: CliContext, lbaText: string, opts: { input: string; yes?: boolean; verify?: boolean; pad?: boolean }): Promise<void> {
  const lba = parseCount(lbaText);
  if (lba === undefined) throw new InvalidArgumentError(`LBA must be a non-negative integer, got "${lbaText}"`);
  let data = await readInput(opts.input);
  if (data.length === 0) throw new InvalidArgumentError(`${opts.input} is empty: nothing to write`);
  canConfirm(`write ${opts.input} at LBA ${lba}`, opts.yes);
  const device = await ctx.open({ writable: true });
  const lu = device.lun(ctx.lun);
  const cap = await lu.readCapacity(ctx.callOptions);
  if (data.length % cap.blockSize !== 0) {
    if (opts.pad !== true) {
      throw new InvalidArgumentError(
        `${opts.input} is ${data.length} bytes, not a multiple of the ${cap.blockSize}-byte block size (use --pad to zero-fill the last block)`,
      );
    }
    const padded = new Uint8Array(Math.ceil(data.length / cap.blockSize) * cap.blockSize);
    padded.set(data);
    data = padded;
  }
  const blocks = data.length / cap.blockSize;
  await confirm(ctx, `write ${blocks} blocks (${formatBytes(data.length)}) at LBA ${lba} of LUN ${lu.number} on ${deviceLabel(ctx, device)}`, opts.yes);
  await writeBlocks(ctx, lu, lba, data, cap.blockSize, device.maxTransferBytes, opts.verify === true);
  if (ctx.json) return ctx.out(toJson({ lba, blocks, bytes: data.length, verified: opts.verify === true }));
  ctx.out(`wrote ${blocks} blocks (${data.length} bytes) at LBA ${lba}${opts.verify === true ? ', verified' : ''}`);
}

/** Writes `data` from `lba` in calls of 16 commands of `maxTransferBytes`, with progress, then SYNCHRONIZE CACHE. */
async function writeBlocks(
  ctx: CliContext,
  lu: LogicalUnit,
  lba: number,
  data: Uint8Array,
  blockSize: number,
  maxTransferBytes: number,
  verify: boolean,
  label = 'write',
): Promise<void> {
  const blocks = data.length / blockSize;
  const progress = new Progress(label, data.length, 0, process.stderr.isTTY === true && !ctx.json && data.length >= 16 << 20);
  const chunk = ioBlocks(maxTransferBytes, blockSize).call;
  try {
    for (let done = 0; done < blocks; ) {
      const n = Math.min(chunk, blocks - done);
      await lu.write(lba + done, data.subarray(done * blockSize, (done + n) * blockSize), { ...ctx.callOptions, verify });
      done += n;
      progress.update(done * blockSize, data.length);
    }
    await lu.flush(ctx.callOptions);
  } finally {
    progress.stop();
  }
}

/** `usbms bench`: sequential read (and with --write, write-back of the same bytes) throughput and TEST UNIT READY latency. */
export async function cmdBench(ctx: CliContext, opts: { size?: string; turs?: string; write?: boolean; yes?: boolean; lba?: string }): Promise<void> {
  // Every argument, and the --write confirmation when there is no terminal, before any I/O.
  const wantBytes = sizeOption('size', opts.size, 16 << 20, { min: 1 });
  const start = intOption('lba', opts.lba, 0);
  const turCount = intOption('turs', opts.turs, 100);
  if (opts.write === true) canConfirm('overwrite the benchmark region for a write benchmark', opts.yes);
  const device = await ctx.open({ writable: opts.write === true });
  const lu = device.lun(ctx.lun);
  const o = ctx.callOptions;
  const cap = await lu.readCapacity(o);
  const wantBlocks = Math.ceil(wantBytes / cap.blockSize);
  const blocks = Math.min(wantBlocks, cap.blocks - start);
  if (blocks <= 0) throw new InvalidArgumentError(`--lba ${start} is beyond the end of the medium (${cap.blocks} blocks)`);
  if (blocks < wantBlocks) {
    process.stderr.write(
      `usbms bench: warning: --size ${opts.size ?? ''} from LBA ${start} runs past the end of the medium; measuring ${blocks} blocks (${formatBytes(blocks * cap.blockSize)}) instead\n`,
    );
  }
  const { command: commandBlocks, call: chunk } = ioBlocks(device.maxTransferBytes, cap.blockSize);
  const bytes = blocks * cap.blockSize;
  // On a terminal without --yes, ask before the first timed command, now that the region is known.
  if (opts.write === true) {
    await confirm(
      ctx,
      `overwrite ${blocks} blocks at LBA ${start} of ${deviceLabel(ctx, device)} for a write benchmark (the original data is read first and written back)`,
      opts.yes,
    );
  }

  const latencies: number[] = [];
  for (let i = 0; i < turCount; i++) {
    const t0 = performance.now();
    await lu.testUnitReady(o);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;

  // Reads as `usbms read` and `dump` do them: the next call queued while one runs (readAhead), two buffers.
  const buffers = new TwoBuffers(chunk * cap.blockSize);
  const r0 = performance.now();
  await readAhead(
    Math.ceil(blocks / chunk),
    (i) => {
      const done = i * chunk;
      const n = Math.min(chunk, blocks - done);
      return lu.read(start + done, n, { ...o, into: buffers.view(i, n * cap.blockSize) });
    },
    () => undefined,
  );
  const readSeconds = (performance.now() - r0) / 1000;

  let writeSeconds: number | undefined;
  if (opts.write === true) {
    // Keep the user's data: read the region, time writing it back (same bytes), flush.
    const original = await lu.read(start, blocks, o);
    const w0 = performance.now();
    for (let done = 0; done < blocks; ) {
      const n = Math.min(chunk, blocks - done);
      await lu.write(start + done, original.subarray(done * cap.blockSize, (done + n) * cap.blockSize), o);
      done += n;
    }
    await lu.flush(o);
    writeSeconds = (performance.now() - w0) / 1000;
  }
  const round = (n: number): number => Number(n.toFixed(3));
  const result = {
    lun: lu.number,
    bytes,
    ...(blocks < wantBlocks ? { clipped: true, requestedBytes: wantBytes } : {}),
    commandBytes: commandBlocks * cap.blockSize,
    readBytesPerSecond: Math.round(bytes / readSeconds),
    ...(writeSeconds === undefined ? {} : { writeBytesPerSecond: Math.round(bytes / writeSeconds) }),
    testUnitReadyMs: {
      count: turCount,
      min: round(latencies[0] ?? 0),
      median: round(pct(50)),
      p99: round(pct(99)),
      max: round(latencies.at(-1) ?? 0),
      mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, turCount)),
    },
  };
  if (ctx.json) return ctx.out(toJson(result));
  ctx.out(
    keyValues([
      ['Sequential read', `${formatBytes(result.readBytesPerSecond)}/s (${formatBytes(bytes)} in ${formatBytes(result.commandBytes)} commands)`],
      ['Sequential write', result.writeBytesPerSecond === undefined ? 'skipped (use --write --yes)' : `${formatBytes(result.writeBytesPerSecond)}/s`],
      [
        'TEST UNIT READY',
        `${turCount} commands: min ${result.testUnitReadyMs.min} ms, median ${result.testUnitReadyMs.median} ms, p99 ${result.testUnitReadyMs.p99} ms, max ${result.testUnitReadyMs.max} ms`,
      ],
    ]),
  );
}
