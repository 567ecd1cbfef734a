/**
 * `usbms identify` and `usbms smart`: ATA drive identity and health through SAT
 * ATA PASS-THROUGH (T10 SAT-4), laid out like smartctl's `-i`, `-H`, `-A` and
 * `-l` sections so the output reads (and compares) the same.
 */
import {
  ATA_LOG_NAMES,
  type AtaCommand,
  type AtaIdentify,
  BRIDGE_KINDS,
  type BridgeKind,
  type BridgeRoute,
  checkPowerMode,
  InvalidArgumentError,
  identifyDevice,
  type LogDirectory,
  type NvmeIdentifyController,
  type NvmeIdentifyNamespace,
  type NvmeSmartHealth,
  nvmeIdentifyController,
  nvmeIdentifyNamespace,
  nvmeSmartHealthLog,
  type RunAtaOptions,
  readExtendedSelfTestLog,
  readGpLogDirectory,
  runAtaVia,
  runNvme,
  type SelfTestLog,
  type SmartData,
  type SmartHealth,
  type SummaryErrorLog,
  selectBridge,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadErrorLog,
  smartReadLogDirectory,
  smartReadSelfTestLog,
  smartReadThresholds,
  smartReturnStatus,
} from '@usbms/core';
import type { CliContext } from './context.js';
import { CliError, CliErrorCode, ExitCode } from './exit.js';
import { formatSiBytes, toJson } from './format.js';

/**
 * sg3_utils exit status 36 (SG_LIB_OK_FALSE): "no error has occurred plus the utility wants to convey a
 * boolean value of false". `usbms smart` exits with it when the drive's SMART health self-assessment is
 * FAILED or a pre-failure attribute is at or below its threshold now (what smartctl flags with exit bits 3
 * and 4).
 */
export const EXIT_HEALTH_FAILED = ExitCode.OkFalse;

export interface AtaCliOptions {
  /** --cdb12: ATA PASS-THROUGH(12) for bridges that only know A1h. */
  cdb12?: boolean;
  /** --bridge: auto (default; sat with --cdb12) or one of BRIDGE_KINDS. */
  bridge?: string;
}

/** The pass-through the command goes through: `--bridge`, `auto` by default (SAT with --cdb12). */
async function routeFor(ctx: CliContext, opts: AtaCliOptions): Promise<BridgeRoute> {
  const choice = opts.bridge ?? (opts.cdb12 === true ? 'sat' : 'auto');
  if (choice !== 'auto' && !(BRIDGE_KINDS as readonly string[]).includes(choice)) {
    throw new CliError(`--bridge takes auto, ${BRIDGE_KINDS.join(', ')}; got "${choice}"`, { exitCode: ExitCode.Syntax, code: CliErrorCode.Usage });
  }
  if (opts.cdb12 === true && choice !== 'sat') {
    throw new CliError('--cdb12 is for --bridge sat only', { exitCode: ExitCode.Contradict, code: CliErrorCode.Contradict });
  }
  return selectBridge(await ctx.open(), choice as BridgeKind | 'auto', { ...ctx.callOptions, lun: ctx.lun });
}

async function ataOptions(ctx: CliContext, options: AtaCliOptions): Promise<RunAtaOptions> {
  const device = await ctx.open();
  const lu = device.lun(ctx.lun);
  const out: RunAtaOptions = { ...ctx.callOptions, lun: ctx.lun };
  if (options.cdb12 === true) out.cdbSize = 12;
  const type = lu.inquiry?.peripheralDeviceType;
  if (type !== undefined) out.peripheralDeviceType = type;
  return out;
}

async function run<T>(ctx: CliContext, route: BridgeRoute, command: AtaCommand<T>, options: RunAtaOptions): Promise<T> {
  return runAtaVia(await ctx.open(), route, command, options);
}

/** smartctl -i style lines for an NVMe drive (Identify Controller and Namespace 1). */
export function formatNvmeIdentify(id: NvmeIdentifyController, ns: NvmeIdentifyNamespace | undefined): string {
  const rows: Array<[string, string]> = [
    ['Model Number', id.model],
    ['Serial Number', id.serial],
    ['Firmware Version', id.firmware],
    [
      'PCI Vendor/Subsystem ID',
      id.pciVendorId === id.pciSubsystemVendorId
        ? `0x${id.pciVendorId.toString(16).padStart(4, '0')}`
        : `0x${id.pciVendorId.toString(16).padStart(4, '0')}/0x${id.pciSubsystemVendorId.toString(16).padStart(4, '0')}`,
    ],
    ['IEEE OUI Identifier', `0x${id.ieeeOui.toString(16).padStart(6, '0')}`],
    ['Controller ID', String(id.controllerId)],
    ['NVMe Version', id.version ?? '<1.2'],
    ['Number of Namespaces', String(id.namespaces)],
  ];
  if (ns?.active === true && ns.sizeBytes !== undefined) {
    rows.push(['Namespace 1 Size/Capacity', `${thousands(ns.sizeBytes)} bytes [${formatSiBytes(ns.sizeBytes)}]`]);
    rows.push(['Namespace 1 Formatted LBA Size', String(ns.logicalBlockSize)]);
    if (ns.eui64 !== undefined) rows.push(['Namespace 1 IEEE EUI-64', `${ns.eui64.slice(0, 6)} ${ns.eui64.slice(6)}`]);
  }
  const width = 36;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

/** smartctl -A style lines for the NVMe SMART/Health Information log. */
export function formatNvmeSmart(s: NvmeSmartHealth): string {
  const n = (v: bigint): string => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const units = (v: bigint): string => `${n(v)} [${formatSiBytes(Number(v) * 512_000)}]`;
  const rows: Array<[string, string]> = [
    ['Critical Warning', `0x${s.criticalWarning.toString(16).padStart(2, '0')}`],
    ['Temperature', s.temperatureC === undefined ? '-' : `${s.temperatureC} Celsius`],
    ['Available Spare', `${s.availableSpare}%`],
    ['Available Spare Threshold', `${s.availableSpareThreshold}%`],
    ['Percentage Used', `${s.percentageUsed}%`],
    ['Data Units Read', units(s.dataUnitsRead)],
    ['Data Units Written', units(s.dataUnitsWritten)],
    ['Host Read Commands', n(s.hostReadCommands)],
    ['Host Write Commands', n(s.hostWriteCommands)],
    ['Controller Busy Time', n(s.controllerBusyTime)],
    ['Power Cycles', n(s.powerCycles)],
    ['Power On Hours', n(s.powerOnHours)],
    ['Unsafe Shutdowns', n(s.unsafeShutdowns)],
    ['Media and Data Integrity Errors', n(s.mediaErrors)],
    ['Error Information Log Entries', n(s.errorLogEntries)],
  ];
  for (const [i, k] of s.temperatureSensorsK.entries()) if (k !== 0) rows.push([`Temperature Sensor ${i + 1}`, `${k - 273} Celsius`]);
  return ['SMART/Health Information (NVMe Log 0x02)', ...rows.map(([k, v]) => `${`${k}:`.padEnd(36)}${v}`)].join('\n');
}

/** `identify` / `smart` on an NVMe route: Identify Controller/Namespace and the SMART/Health log. */
async function nvmeReport(ctx: CliContext, route: BridgeRoute, sections: { identify: boolean; health: boolean; attributes: boolean }): Promise<number> {
  const device = await ctx.open();
  const kind = route.kind as 'nvme-jmicron' | 'nvme-asmedia' | 'nvme-realtek';
  const options = { ...ctx.callOptions, lun: ctx.lun };
  const json: Record<string, unknown> = { bridge: route.kind };
  const text: string[] = [];
  if (sections.identify) {
    const id = await runNvme(device, kind, nvmeIdentifyController(), options);
    // smartctl reads namespace 1 when the controller has exactly one (no namespace management).
    const ns = id.namespaces === 1 ? await runNvme(device, kind, nvmeIdentifyNamespace(1), options) : undefined;
    json.identifyController = id;
    if (ns !== undefined) json.identifyNamespace = ns;
    text.push('=== START OF INFORMATION SECTION ===', formatNvmeIdentify(id, ns), '');
  }
  let failing = false;
  if (sections.health || sections.attributes) {
    const s = await runNvme(device, kind, nvmeSmartHealthLog(), options);
    json.nvmeSmartHealth = s;
    failing = s.health === 'failed';
    text.push('=== START OF SMART DATA SECTION ===');
    if (sections.health) text.push(`SMART overall-health self-assessment test result: ${failing ? 'FAILED!' : 'PASSED'}`, '');
    if (sections.attributes) text.push(formatNvmeSmart(s), '');
  }
  if (ctx.json) ctx.out(toJson({ ...json, exitCode: failing ? EXIT_HEALTH_FAILED : ExitCode.Ok }));
  else ctx.out(text.join('\n').trimEnd());
  return failing ? EXIT_HEALTH_FAILED : ExitCode.Ok;
}

/** "1,000,204,886,016" like smartctl's User Capacity. */
function thousands(n: number): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** smartctl -i style lines for IDENTIFY DEVICE data. */
export function formatIdentify(id: AtaIdentify): string {
  const rows: Array<[string, string]> = [
    ['Device Model', id.model],
    ['Serial Number', id.serial],
  ];
  if (id.wwn !== undefined) rows.push(['LU WWN Device Id', `${id.wwn.slice(0, 1)} ${id.wwn.slice(1, 7)} ${id.wwn.slice(7)}`]);
  rows.push(['Firmware Version', id.firmware]);
  rows.push(['User Capacity', `${thousands(id.capacityBytes)} bytes [${formatSiBytes(id.capacityBytes)}]`]);
  rows.push([
    'Sector Size',
    id.logicalSectorSize === id.physicalSectorSize
      ? `${id.logicalSectorSize} bytes logical/physical`
      : `${id.logicalSectorSize} bytes logical, ${id.physicalSectorSize} bytes physical`,
  ]);
  if (id.rotationRate !== undefined) rows.push(['Rotation Rate', id.rotationRate === 'ssd' ? 'Solid State Device' : `${id.rotationRate} rpm`]);
  if (id.ataMajorVersion !== undefined) rows.push(['ATA Version is', id.ataMajorVersion]);
  const f = id.features;
  rows.push(['SMART support is', f.smart.supported ? 'Available - device has SMART capability.' : 'Unavailable - device lacks SMART capability.']);
  if (f.smart.supported) rows.push(['SMART support is', f.smart.enabled ? 'Enabled' : 'Disabled']);
  rows.push(['48-bit LBA', f.lba48 ? 'Supported' : 'Not supported']);
  rows.push(['NCQ', f.ncq.supported ? `Supported, queue depth ${f.ncq.depth ?? '?'}` : 'Not supported']);
  rows.push(['TRIM Command', f.trim ? 'Available' : 'Unavailable']);
  const s = f.security;
  rows.push([
    'ATA Security is',
    s.supported ? [s.enabled ? 'Enabled' : 'Disabled', s.locked ? 'LOCKED' : 'NOT LOCKED', s.frozen ? 'FROZEN' : 'NOT FROZEN'].join(', ') : 'Unavailable',
  ]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

/** smartctl -A style table. */
export function formatAttributes(smart: SmartData): string {
  const lines = [
    `SMART Attributes Data Structure revision number: ${smart.revision}`,
    'Vendor Specific SMART Attributes with Thresholds:',
    'ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE',
  ];
  const pad3 = (n: number | undefined): string => (n === undefined ? '---' : n.toString().padStart(3, '0'));
  for (const a of smart.attributes) {
    const whenFailed = a.verdict === 'now' ? 'FAILING_NOW' : a.verdict === 'past' ? 'In_the_past' : '-';
    lines.push(
      `${a.id.toString().padStart(3)} ${a.name.padEnd(24)}0x${a.flags.toString(16).padStart(4, '0')}   ${pad3(a.value)}   ${pad3(a.worst)}   ${pad3(a.threshold)}    ${(a.preFailure ? 'Pre-fail' : 'Old_age').padEnd(10)}${(a.online ? 'Always' : 'Offline').padEnd(9)}${whenFailed.padStart(5).padEnd(12)}${a.rawText}`,
    );
  }
  return lines.join('\n');
}

/** smartctl -l selftest style table. */
export function formatSelfTestLog(log: SelfTestLog, title: string): string {
  if (log.entries.length === 0) return `${title} revision number ${log.revision}\nNo self-tests have been logged.  [To run self-tests, use: usbms smart -t]`;
  const lines = [`${title} revision number ${log.revision}`, 'Num  Test_Description    Status                  Remaining  LifeTime(hours)  LBA_of_first_error'];
  for (const e of log.entries) {
    lines.push(
      `# ${e.number.toString().padStart(2)}  ${e.description.padEnd(20)}${e.status.text.padEnd(30).slice(0, 30)}${`${e.status.remainingPercent.toString().padStart(2, '0')}%`.padStart(4)}  ${e.lifetimeHours.toString().padStart(15)}  ${e.failingLba === undefined ? '        -' : e.failingLba.toString().padStart(9)}`,
    );
  }
  return lines.join('\n');
}

export function formatErrorLog(log: SummaryErrorLog): string {
  if (log.errorCount === 0 && log.entries.length === 0) return `SMART Error Log Version: ${log.version}\nNo Errors Logged`;
  const lines = [
    `SMART Error Log Version: ${log.version}`,
    `ATA Error Count: ${log.errorCount}${log.errorCount > log.entries.length ? ` (device log contains only the most recent ${log.entries.length} errors)` : ''}`,
  ];
  for (const e of log.entries) {
    lines.push('', `Error ${e.errorCount} occurred at disk power-on lifetime: ${e.lifetimeHours} hours`);
    lines.push(`  ER ST SC SN CL CH DH`, `  -- -- -- -- -- -- --`);
    const h = (v: number): string => v.toString(16).padStart(2, '0');
    lines.push(`  ${[e.error, e.status, e.count, e.lba & 0xff, (e.lba >> 8) & 0xff, (e.lba >> 16) & 0xff, e.device].map(h).join(' ')}`);
    for (const c of e.commands)
      lines.push(`  command ${h(c.command)} features ${h(c.features)} count ${h(c.count)} lba ${c.lba.toString(16)} at ${c.timestampMs} ms`);
  }
  return lines.join('\n');
}

export function formatLogDirectory(dir: LogDirectory, title: string): string {
  const lines = [`${title} Version ${dir.version}`, 'Address    Pages  Description'];
  for (const [address, pages] of dir.pages) {
    lines.push(
      `0x${address.toString(16).padStart(2, '0')}     ${pages.toString().padStart(6)}  ${ATA_LOG_NAMES[address] ?? (address >= 0x80 && address <= 0x9f ? 'Host vendor specific log' : address >= 0xa0 && address <= 0xdf ? 'Device vendor specific log' : 'Unknown')}`,
    );
  }
  return lines.join('\n');
}

/* --------------------------------------------------------------- identify */

export async function cmdIdentify(ctx: CliContext, opts: AtaCliOptions): Promise<void> {
  const route = await routeFor(ctx, opts);
  if (route.family === 'nvme') {
    await nvmeReport(ctx, route, { identify: true, health: false, attributes: false });
    return;
  }
  const options = await ataOptions(ctx, opts);
  const id = await run(ctx, route, identifyDevice(), options);
  if (ctx.json) {
    const { raw, ...rest } = id;
    return ctx.out(toJson({ identify: { ...rest, raw } }));
  }
  ctx.out(formatIdentify(id));
}

/* ------------------------------------------------------------------ smart */

export interface SmartCliOptions extends AtaCliOptions {
  health?: boolean;
  attributes?: boolean;
  all?: boolean;
  log?: string[];
  test?: string;
  abort?: boolean;
}

const LOGS = ['error', 'selftest', 'xselftest', 'directory', 'gplog-directory'] as const;
const TESTS: Record<string, 'short' | 'extended' | 'conveyance' | 'offline'> = {
  short: 'short',
  long: 'extended',
  conveyance: 'conveyance',
  offline: 'offline',
};

export async function cmdSmart(ctx: CliContext, opts: SmartCliOptions): Promise<number> {
  const logs = opts.log ?? [];
  for (const log of logs) {
    if (!(LOGS as readonly string[]).includes(log))
      throw new CliError(`-l takes one of ${LOGS.join(', ')}; got "${log}"`, { exitCode: ExitCode.Syntax, code: CliErrorCode.Usage });
  }
  if (opts.test !== undefined && TESTS[opts.test] === undefined)
    throw new CliError(`-t takes short, long, conveyance or offline; got "${opts.test}"`, { exitCode: ExitCode.Syntax, code: CliErrorCode.Usage });
  if (opts.test !== undefined && opts.abort === true)
    throw new CliError('-t and -X cannot be combined', { exitCode: ExitCode.Contradict, code: CliErrorCode.Contradict });
  const action = opts.test !== undefined || opts.abort === true;
  // With no section asked for, show health and attributes (smartctl -H -A).
  const health = opts.health === true || opts.all === true || (!action && logs.length === 0 && opts.attributes !== true);
  const attributes = opts.attributes === true || opts.all === true || (!action && logs.length === 0 && opts.health !== true);
  const requestedLogs = logs.length;
  if (opts.all === true) for (const l of ['error', 'selftest'] as const) if (!logs.includes(l)) logs.push(l);

  const writable = action;
  const device = await ctx.open({ writable });
  void device;
  const route = await routeFor(ctx, opts);
  if (route.family === 'nvme') {
    if (action || requestedLogs > 0) {
      throw new CliError(`${route.kind}: NVMe bridges carry Identify and Get Log Page only here (no -t, -X or -l)`, {
        exitCode: ExitCode.Syntax,
        code: CliErrorCode.Usage,
      });
    }
    return nvmeReport(ctx, route, { identify: opts.all === true, health, attributes });
  }
  const options = await ataOptions(ctx, opts);
  const json: Record<string, unknown> = {};
  const text: string[] = [];
  let failing = false;

  if (opts.all === true) {
    const id = await run(ctx, route, identifyDevice(), options);
    const { raw, ...rest } = id;
    json.identify = { ...rest, raw };
    text.push('=== START OF INFORMATION SECTION ===', formatIdentify(id), '');
  }
  if (health || attributes) text.push('=== START OF READ SMART DATA SECTION ===');
  if (health) {
    const verdict: SmartHealth = await run(ctx, route, smartReturnStatus(), options);
    json.health = verdict;
    if (verdict === 'failed') failing = true;
    text.push(`SMART overall-health self-assessment test result: ${verdict === 'passed' ? 'PASSED' : 'FAILED!'}`);
    if (verdict === 'failed') text.push('Drive failure expected in less than 24 hours. SAVE ALL DATA.');
    text.push('');
  }
  if (attributes) {
    const thresholds = await run(ctx, route, smartReadThresholds(), options);
    const smart = await run(ctx, route, smartReadData(thresholds), options);
    json.smart = smart;
    if (smart.attributes.some((a) => a.preFailure && a.verdict === 'now')) failing = true;
    text.push(formatAttributes(smart), '');
    if (smart.selfTest.inProgress) text.push(`Self-test execution status: ${smart.selfTest.text}, ${smart.selfTest.remainingPercent}% remaining`, '');
  }
  for (const log of logs) {
    if (log === 'error') {
      const errorLog = await run(ctx, route, smartReadErrorLog(), options);
      json.errorLog = errorLog;
      text.push(formatErrorLog(errorLog), '');
    } else if (log === 'selftest') {
      const selfTests = await run(ctx, route, smartReadSelfTestLog(), options);
      json.selfTestLog = selfTests;
      text.push(formatSelfTestLog(selfTests, 'SMART Self-test log structure'), '');
    } else if (log === 'xselftest') {
      const selfTests = await run(ctx, route, readExtendedSelfTestLog(), options);
      json.extendedSelfTestLog = selfTests;
      text.push(formatSelfTestLog(selfTests, 'SMART Extended Self-test Log'), '');
    } else if (log === 'directory') {
      const dir = await run(ctx, route, smartReadLogDirectory(), options);
      json.smartLogDirectory = { version: dir.version, pages: Object.fromEntries(dir.pages) };
      text.push(formatLogDirectory(dir, 'SMART Log Directory'), '');
    } else {
      const dir = await run(ctx, route, readGpLogDirectory(), options);
      json.gpLogDirectory = { version: dir.version, pages: Object.fromEntries(dir.pages) };
      text.push(formatLogDirectory(dir, 'General Purpose Log Directory'), '');
    }
  }
  if (opts.abort === true) {
    await run(ctx, route, smartExecuteOfflineImmediate('abort'), options);
    json.selfTest = 'aborted';
    text.push('Self-testing aborted!');
  }
  if (opts.test !== undefined) {
    const test = TESTS[opts.test] ?? 'short';
    const power = await run(ctx, route, checkPowerMode(), options).catch(() => undefined);
    await run(ctx, route, smartExecuteOfflineImmediate(test), options);
    const smart = await run(ctx, route, smartReadData(), options);
    json.selfTest = { started: test, status: smart.selfTest, pollingMinutes: smart.pollingMinutes, ...(power ? { powerMode: power.mode } : {}) };
    const minutes = test === 'short' ? smart.pollingMinutes.short : test === 'extended' ? smart.pollingMinutes.extended : smart.pollingMinutes.conveyance;
    text.push(
      `Sending command: "Execute SMART ${test === 'extended' ? 'Extended' : test[0]?.toUpperCase() + test.slice(1)} self-test routine immediately in off-line mode".`,
      'Drive command successful.',
      `Please wait ${minutes} minutes for test to complete.`,
      'Use usbms smart -X to abort test; usbms smart -l selftest shows the result.',
    );
  }
  if (ctx.json) ctx.out(toJson({ ...json, exitCode: failing ? EXIT_HEALTH_FAILED : ExitCode.Ok }));
  else ctx.out(text.join('\n').trimEnd());
  return failing ? EXIT_HEALTH_FAILED : ExitCode.Ok;
}

/** Validates that a string list option was given as intended (commander collects repeated -l). */
export function collect(value: string, previous: string[] | undefined): string[] {
  if (value.length === 0) throw new InvalidArgumentError('-l needs a log name');
  return [...(previous ?? []), value];
}

/**
 * smartctl's `-l LOG` and `-t TEST` after `smart` mean `--log`/`--test` (the global `-l`/`-t` are --lun and
 * --timeout, which commander would otherwise take wherever they appear).
 */
export function normalizeSmartArgs(argv: string[]): string[] {
  const at = argv.indexOf('smart', 2);
  if (at < 0) return argv;
  return [...argv.slice(0, at + 1), ...argv.slice(at + 1).map((arg) => (arg === '-l' ? '--log' : arg === '-t' ? '--test' : arg))];
}
