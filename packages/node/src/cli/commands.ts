/**
 * What a LUN says about itself and its state: `usbms inquiry` (standard data and VPD pages),
 * `capacity` (READ CAPACITY(10)/(16)), `sense` (REQUEST SENSE), `tur` (TEST UNIT READY, timed with
 * -n) and `eject`. Device discovery is list.ts; block I/O and bench are block-io.ts.
 */
import { formatSense, readCapacity16, requestSense, ScsiCheckConditionError, type SenseData, UsbmsError, UsbmsErrorCode } from '@usbms/core';
import { type CliContext, intOption } from './context.js';
import { ExitCode, exitCodeFor, usageError } from './exit.js';
import { formatBytes, formatSiBytes, hex2, hexDump, keyValues, toHex, toJson } from './format.js';
import { decodeVpd, describeVpdPage, parseVpdPage, vpdPageName } from './vpd.js';

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
function describeDecoded(value: unknown): string[] {
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
