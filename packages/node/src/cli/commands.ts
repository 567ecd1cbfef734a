import { createInterface } from 'node:readline/promises';
import {
  formatSense,
  InvalidArgumentError,
  type LogicalUnit,
  type MscDevice,
  readCapacity16,
  requestSense,
  ScsiCheckConditionError,
  type SenseData,
  UsbmsError,
  UsbmsErrorCode,
} from '@usbms/core';
import { chooseBackend } from '../backend.js';
import { listDevices, MSC_CLASS, type MscDeviceInfo, watchDevices } from '../discovery.js';
import { type CliContext, intOption } from './context.js';
import { CliError, CliErrorCode, ExitCode, exitCodeFor, usageError } from './exit.js';
import { deviceId, formatBytes, formatSiBytes, hex2, hexDump, keyValues, toHex, toJson } from './format.js';
import { checkOutputPath, isStdio, readInput, writeOutput } from './output.js';
import { Progress } from './progress.js';
import { parseCount, sizeOption } from './units.js';
import { decodeVpd, describeVpdPage, parseVpdPage, vpdPageName } from './vpd.js';

/* ----------------------------------------------------------------- list */

function describeListEntry(index: number, d: MscDeviceInfo): string {
  const name = [d.manufacturer, d.product].filter((s) => s !== undefined).join(' ') || '(no name)';
  const lines = [`[${index}] ${d.id}  ${name}  bus ${d.busNumber ?? '?'} port ${d.portPath ?? '?'}  ${d.speed}-speed`];
  if (d.error !== undefined) lines.push(`    descriptors unreadable: ${d.error}`);
  for (const i of d.interfaces) {
    const alt = i.alternates.find((a) => a.alternateSetting === (i.botAlternate ?? i.uasAlternate ?? 0)) ?? i.alternates[0];
    const eps =
      alt?.bulkIn !== undefined && alt.bulkOut !== undefined
        ? ` ep in 0x${hex2(alt.bulkIn.address)}/out 0x${hex2(alt.bulkOut.address)} (${alt.bulkIn.packetSize} B packets)`
        : '';
    const kinds = i.alternates.map((a) => `alt ${a.alternateSetting}: ${a.kind.toUpperCase()} ${a.subclassName}`).join(', ');
    const kernel =
      i.kernelDriver === undefined ? '' : `  driver ${i.kernelDriver}${i.blockDevices ? ` (${i.blockDevices.map((b) => `/dev/${b}`).join(' ')})` : ''}`;
    const state = i.supported ? '' : `  [unsupported: ${i.note ?? '?'}]`;
    const note = i.supported && i.note !== undefined ? `  [${i.note}]` : '';
    lines.push(`    interface ${i.interfaceNumber}: ${kinds}${eps}${kernel}${state}${note}`);
  }
  return lines.join('\n');
}

export async function cmdList(ctx: CliContext): Promise<void> {
  if (ctx.isSim) {
    const device = await ctx.open();
    const info = device.info;
    const entry = {
      id: deviceId(info),
      simulated: true,
      image: ctx.options.simImage,
      ...info,
      maxLun: device.maxLun,
      luns: device.luns.map((lu) => ({ lun: lu.number, vendor: lu.inquiry?.vendor, product: lu.inquiry?.product, revision: lu.inquiry?.revision })),
    };
    if (ctx.json) return ctx.out(toJson([entry]));
    ctx.out(`[sim] ${entry.id}  simulated device${entry.image === undefined ? ' (RAM)' : ` backed by ${entry.image}`}  ${info.speed ?? 'unknown'}-speed`);
    for (const lu of entry.luns) ctx.out(`    LUN ${lu.lun}: ${lu.vendor ?? ''} ${lu.product ?? ''} ${lu.revision ?? ''}`.trimEnd());
    return;
  }
  const vendorInterface =
    ctx.options.vendorInterface === undefined ? {} : { vendorClassInterface: intOption('vendor-interface', ctx.options.vendorInterface, 0) };
  const all = await listDevices({ ...vendorInterface, includeUnreadable: true });
  // Indexes match `--device INDEX`, which counts only devices with readable descriptors.
  // (the same rule listDevices applies without includeUnreadable).
  const devices = all.filter((d) => d.interfaces.length > 0 || d.device.deviceClass === MSC_CLASS);
  const unreadable = all.filter((d) => !devices.includes(d));
  // The backend `--device` would use with these options (USBMS_BACKEND, --backend).
  const { backend } = chooseBackend(ctx.options.backend);
  if (ctx.json) return ctx.out(toJson(devices.map((d) => ({ ...d, backend }))));
  if (devices.length === 0) ctx.out('No USB mass-storage devices found.');
  for (const [i, d] of devices.entries()) ctx.out(describeListEntry(i, d));
  if (devices.length > 0) ctx.out(`backend: ${backend}`);
  if (unreadable.length > 0) {
    ctx.note(
      `${unreadable.length} USB device(s) could not be inspected (${unreadable.map((d) => `${d.id}: ${d.error ?? '?'}`).join('; ')}); run as root or add a udev rule (see the README)`,
    );
  }
}

/* -------------------------------------------------------------- inquiry */

/**
 * A VPD page is optional: a rejection (CHECK CONDITION) or a device that
 * does not answer (timeout, after which the core has reset it) is shown
 * instead of failing the whole command. Losing the device still fails it.
 */
async function tryPage<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ScsiCheckConditionError) return { error: error.sense ? formatSense(error.sense) : error.message };
    if (
      error instanceof UsbmsError &&
      (error.code === UsbmsErrorCode.Timeout || error.code === UsbmsErrorCode.PhaseError || error.code === UsbmsErrorCode.Parse)
    ) {
      return { error: error.message };
    }
    throw error;
  }
}

/** Cheap devices may hang on VPD requests: give them a short timeout unless --timeout says otherwise. */
const VPD_TIMEOUT_MS = 5000;

export async function cmdInquiry(ctx: CliContext, opts: { vpd?: boolean; page?: string }): Promise<void> {
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  const o = ctx.callOptions;
  if (opts.page !== undefined) {
    const page = parseVpdPage(opts.page);
    const bytes = await lu.inquiryVpd(page, o);
    const decoded = decodeVpd(page, bytes);
    if (ctx.json) return ctx.out(toJson({ page, name: vpdPageName(page), bytes, ...(decoded === undefined ? {} : { decoded }) }));
    ctx.out(`VPD page ${describeVpdPage(page)} (${bytes.length} bytes):`);
    if (decoded !== undefined) for (const line of describeDecoded(decoded)) ctx.out(`  ${line}`);
    ctx.out(hexDump(bytes));
    return;
  }
  const std = await lu.readInquiry(o);
  const result: Record<string, unknown> = { lun: lu.number, standard: std };
  if (opts.vpd !== false) {
    const o = { ...ctx.callOptions, timeoutMs: ctx.timeoutMs ?? VPD_TIMEOUT_MS };
    const pages = await tryPage(() => lu.vpdPages(o));
    result.vpdPages = pages;
    if (Array.isArray(pages)) {
      if (pages.includes(0x80)) result.unitSerialNumber = await tryPage(() => lu.serialNumber(o));
      if (pages.includes(0x83)) result.deviceIdentification = await tryPage(() => lu.deviceIdentification(o));
      if (pages.includes(0xb0)) result.blockLimits = await tryPage(() => lu.blockLimits(o));
      if (pages.includes(0xb1)) result.blockDeviceCharacteristics = await tryPage(() => lu.blockDeviceCharacteristics(o));
    }
  }
  if (ctx.json) return ctx.out(toJson(result));
  ctx.out(
    keyValues([
      ['Vendor', std.vendor],
      ['Product', std.product],
      ['Revision', std.revision],
      ['Device type', `${std.deviceTypeName} (0x${hex2(std.peripheralDeviceType)})`],
      ['Peripheral qualifier', std.peripheralQualifier],
      ['Removable', std.removable ? 'yes' : 'no'],
      ['Version', `0x${hex2(std.version)}`],
      ['Response data format', std.responseDataFormat],
    ]),
  );
  const pages = result.vpdPages;
  if (pages === undefined) return;
  if (!Array.isArray(pages)) {
    ctx.out(`VPD pages: not supported (${(pages as { error: string }).error})`);
    return;
  }
  ctx.out('VPD pages:');
  for (const p of pages as number[]) ctx.out(`  ${describeVpdPage(p)}`);
  const show = (label: string, value: unknown): void => {
    if (value === undefined) return;
    if (typeof value === 'object' && value !== null && 'error' in value) ctx.out(`${label}: ${String((value as { error: string }).error)}`);
    else if (typeof value === 'string') ctx.out(`${label}: ${value}`);
    else if (typeof value === 'object' && value !== null) {
      ctx.out(`${label}:`);
      const rows = Object.entries(value).filter(([k, v]) => k !== 'truncated' && v !== undefined && typeof v !== 'object');
      for (const line of keyValues(rows.map(([k, v]) => [k, v as string | number | boolean])).split('\n')) ctx.out(`  ${line}`);
    }
  };
  show('Unit serial number (0x80)', result.unitSerialNumber);
  const ids = result.deviceIdentification;
  if (Array.isArray(ids)) {
    ctx.out('Device identification (0x83):');
    for (const d of ids as { designatorTypeName: string; association: string; text: string }[])
      ctx.out(`  ${d.designatorTypeName} (${d.association}): ${d.text}`);
  } else show('Device identification (0x83)', ids);
  show('Block limits (0xb0)', result.blockLimits);
  show('Block device characteristics (0xb1)', result.blockDeviceCharacteristics);
}

/** Lines for a decoded VPD page: key/values of an object, one line per array entry. */
export function describeDecoded(value: unknown): string[] {
  if (typeof value === 'string') return [value === '' ? '(empty)' : value];
  if (Array.isArray(value)) {
    return value.map((v: unknown) => {
      if (typeof v === 'number') return describeVpdPage(v);
      if (typeof v === 'object' && v !== null && 'text' in v) {
        const d = v as { designatorTypeName?: string; association?: string; text: string };
        return `${d.designatorTypeName ?? 'designator'} (${d.association ?? '?'}): ${d.text}`;
      }
      return toJson(v);
    });
  }
  if (typeof value === 'object' && value !== null) {
    const rows = Object.entries(value).map(([k, v]): [string, string | number | boolean | undefined] => [
      k,
      v === undefined ? undefined : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean),
    ]);
    return keyValues(rows).split('\n');
  }
  return [String(value)];
}

/* ------------------------------------------------ capacity / sense / tur */

/**
 * READ CAPACITY; with --16, READ CAPACITY(16) and its SBC-3 §5.16 fields
 * (physical block size, protection, logical block provisioning), as sg_readcap --16.
 */
export async function cmdCapacity(ctx: CliContext, opts: { long?: boolean } = {}): Promise<void> {
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  if (opts.long === true) {
    const c = await lu.run(readCapacity16(), ctx.callOptions);
    if (ctx.json) return ctx.out(toJson({ lun: ctx.lun, ...c }));
    ctx.out(
      keyValues([
        ['Last LBA', c.lastLba],
        ['Block size', c.blockSize],
        ['Blocks', c.blocks],
        ['Capacity', `${c.bytes} bytes (${formatBytes(c.bytes)}, ${formatSiBytes(c.bytes)})`],
        ['Physical block size', `${c.physicalBlockSize} (logical blocks per physical block exponent ${c.logicalBlocksPerPhysicalBlockExponent})`],
        ['Lowest aligned LBA', c.lowestAlignedLba],
        ['Protection', c.protectionEnabled ? `enabled, type ${c.protectionType + 1} (prot_en=1, p_type=${c.protectionType})` : 'disabled (prot_en=0)'],
        [
          'Thin provisioning',
          `${c.provisioningEnabled ? 'enabled' : 'disabled'} (lbpme=${c.provisioningEnabled ? 1 : 0}, lbprz=${c.provisioningReadsZeros ? 1 : 0})`,
        ],
      ]),
    );
    return;
  }
  const cap = await lu.readCapacity(ctx.callOptions);
  if (ctx.json) return ctx.out(toJson({ lun: ctx.lun, ...cap }));
  ctx.out(
    keyValues([
      ['Last LBA', cap.lastLba],
      ['Block size', cap.blockSize],
      ['Blocks', cap.blocks],
      ['Capacity', `${cap.bytes} bytes (${formatBytes(cap.bytes)}, ${formatSiBytes(cap.bytes)})`],
    ]),
  );
}

export function describeSense(sense: SenseData): string {
  return keyValues([
    ['Sense', formatSense(sense)],
    ['Sense key', `0x${hex2(sense.senseKey)} ${sense.senseKeyName}`],
    ['ASC/ASCQ', `0x${hex2(sense.asc)}/0x${hex2(sense.ascq)} ${sense.description}`],
    ['Format', `${sense.format} (response code 0x${hex2(sense.responseCode)}${sense.current ? '' : ', deferred'})`],
    ['Information', sense.information],
    ['Raw', toHex(sense.raw)],
  ]);
}

/** REQUEST SENSE; --desc asks for descriptor-format sense (DESC bit, SPC-4 §6.29). */
export async function cmdSense(ctx: CliContext, opts: { desc?: boolean } = {}): Promise<void> {
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  // Descriptor sense is 8 bytes plus descriptors: ask for the most REQUEST SENSE allows.
  const sense =
    opts.desc === true ? await lu.run(requestSense({ descriptor: true, allocationLength: 252 }), ctx.callOptions) : await lu.requestSense(ctx.callOptions);
  if (ctx.json) return ctx.out(toJson({ lun: ctx.lun, sense: sense ?? null }));
  if (opts.desc === true && sense !== undefined && sense.format !== 'descriptor')
    ctx.note('the device answered in fixed format (it does not support descriptor sense)');
  if (sense === undefined || (sense.senseKey === 0 && sense.asc === 0 && sense.ascq === 0)) {
    ctx.out(`No sense data (NO SENSE 00/00/00${opts.desc === true && sense !== undefined ? `, ${sense.format} format` : ''})`);
    return;
  }
  ctx.out(describeSense(sense));
}

/**
 * TEST UNIT READY; with -n N, N of them timed like sg_turs -n N. The exit
 * code is that of the last failure (0 when all were ready).
 */
export async function cmdTur(ctx: CliContext, opts: { number?: string } = {}): Promise<number> {
  const count = intOption('number', opts.number, 1);
  if (count < 1) throw usageError('-n must be at least 1');
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  if (opts.number === undefined) {
    const started = performance.now();
    await lu.testUnitReady(ctx.callOptions);
    const ms = performance.now() - started;
    if (ctx.json) ctx.out(toJson({ lun: ctx.lun, ready: true, ms: Number(ms.toFixed(3)) }));
    else ctx.out(`LUN ${ctx.lun}: ready`);
    return ExitCode.Ok;
  }
  const times: number[] = [];
  let errors = 0;
  let code: number = ExitCode.Ok;
  let lastError = '';
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      await lu.testUnitReady(ctx.callOptions);
    } catch (error) {
      if (error instanceof UsbmsError && error.code === UsbmsErrorCode.Aborted) throw error;
      errors++;
      code = exitCodeFor(error);
      lastError = error instanceof Error ? error.message : String(error);
    }
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const round = (n: number): number => Number(n.toFixed(3));
  const result = {
    lun: ctx.lun,
    commands: count,
    errors,
    seconds: round(seconds),
    perSecond: round(count / seconds),
    ms: { min: round(times[0] ?? 0), median: round(times[Math.floor(times.length / 2)] ?? 0), max: round(times.at(-1) ?? 0) },
    exitCode: code,
  };
  if (ctx.json) {
    ctx.out(toJson(result));
    return code;
  }
  ctx.out(`Completed ${count} Test Unit Ready commands with ${errors} errors`);
  ctx.out(`time to perform commands was ${seconds.toFixed(3)} secs; ${(count / seconds).toFixed(2)} operations/sec`);
  ctx.out(`per command: min ${result.ms.min} ms, median ${result.ms.median} ms, max ${result.ms.max} ms`);
  if (errors > 0) ctx.note(`last failure: ${lastError}`);
  return code;
}

export async function cmdEject(ctx: CliContext): Promise<void> {
  const device = await ctx.open({ writable: false });
  await device.lun(ctx.lun).eject(ctx.callOptions);
  if (ctx.json) return ctx.out(toJson({ lun: ctx.lun, ejected: true }));
  ctx.out(`LUN ${ctx.lun}: medium ejected`);
}

/* ---------------------------------------------------------- read/write */

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
  const chunk = Math.max(1, Math.floor(device.maxTransferBytes / cap.blockSize));
  try {
    for (let done = 0; done < blocks; ) {
      const n = Math.min(chunk, blocks - done);
      await lu.read(lba + done, n, { ...ctx.callOptions, into: data.subarray(done * cap.blockSize, (done + n) * cap.blockSize) });
      done += n;
      progress.update(done * cap.blockSize, data.length);
    }
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

/**
 * Confirmation guard for commands that overwrite the medium: --yes, or an
 * interactive "yes" on a terminal. Without a terminal and without --yes it refuses.
 */
export async function confirm(ctx: CliContext, question: string, yes: boolean | undefined): Promise<void> {
  if (yes === true) return;
  canConfirm(question, yes);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`About to ${question}. Data there will be overwritten. Type "yes" to continue: `, { signal: ctx.signal });
    if (answer.trim().toLowerCase() !== 'yes')
      throw new CliError('not confirmed; nothing was written', { exitCode: ExitCode.Syntax, code: CliErrorCode.Refused });
  } finally {
    rl.close();
  }
}

/**
 * The part of `confirm` that needs no device: without --yes and without a
 * terminal to ask on, refuse before any I/O (exit 1, code REFUSED).
 */
export function canConfirm(what: string, yes: boolean | undefined): void {
  if (yes === true) return;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) {
    throw new CliError(`refusing to ${what} without --yes (no terminal to ask for confirmation)`, { exitCode: ExitCode.Syntax, code: CliErrorCode.Refused });
  }
}

export function deviceLabel(ctx: CliContext, device: MscDevice): string {
  const i = device.info;
  if (ctx.isSim) return ctx.options.simImage === undefined ? 'the simulated device' : `the simulated device (${ctx.options.simImage})`;
  return `${deviceId(i)} (${i.product ?? 'USB disk'})`;
}

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

export async function writeBlocks(
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
  const chunk = Math.max(1, Math.floor(maxTransferBytes / blockSize));
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

/* ---------------------------------------------------------------- bench */

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
  const chunk = Math.max(1, Math.floor(device.maxTransferBytes / cap.blockSize));
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

  const buffer = new Uint8Array(chunk * cap.blockSize);
  const r0 = performance.now();
  for (let done = 0; done < blocks; ) {
    const n = Math.min(chunk, blocks - done);
    await lu.read(start + done, n, { ...o, into: buffer.subarray(0, n * cap.blockSize) });
    done += n;
  }
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
    commandBytes: chunk * cap.blockSize,
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

/** True for errors that carry sense data the user should see. */
export function isScsiError(error: unknown): error is UsbmsError {
  return error instanceof ScsiCheckConditionError;
}

/* ---------------------------------------------------------------- watch */

/** Prints mass-storage devices as they arrive and leave, until Ctrl-C. */
export async function cmdWatch(ctx: CliContext): Promise<void> {
  if (ctx.isSim) {
    // The simulator is plugged in for as long as the command runs: one attach event, then wait for Ctrl-C.
    const device = await ctx.open();
    const info = device.info;
    const id = deviceId(info);
    if (ctx.json) ctx.out(JSON.stringify({ event: 'attach', time: new Date().toISOString(), device: { id, simulated: true } }));
    else ctx.out(`${new Date().toISOString()} + ${id}  simulated device`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      // Nothing else keeps the process alive while it waits for Ctrl-C.
      const keepAlive = setInterval(() => undefined, 60_000);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearInterval(keepAlive);
          resolve();
        },
        { once: true },
      );
    });
    return;
  }
  const print = (event: 'attach' | 'detach', d: MscDeviceInfo): void => {
    if (ctx.json) ctx.out(JSON.stringify({ event, time: new Date().toISOString(), device: d }));
    else ctx.out(`${new Date().toISOString()} ${event === 'attach' ? '+' : '-'} ${describeListEntry(0, d).replace(/^\[0\] /, '')}`);
  };
  await new Promise<void>((resolve, reject) => {
    const stop = watchDevices(
      {
        onAttach: (d) => print('attach', d),
        onDetach: (d) => print('detach', d),
        onError: (error) => {
          stop();
          reject(error);
        },
      },
      { includeExisting: true },
    );
    ctx.signal.addEventListener(
      'abort',
      () => {
        stop();
        resolve();
      },
      { once: true },
    );
  });
}
