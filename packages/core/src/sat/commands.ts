/**
 * Typed ATA commands over SAT (T10 SAT-4 §12.2): one pure builder per command,
 * like `scsi/commands.ts`. Each returns an `AtaCommand`: the ATA taskfile and
 * protocol, and a decoder that gets the data-in bytes and, for commands that
 * answer in registers (CK_COND), the ATA return registers. Send one with
 * `runAta(device, command)`.
 *
 * @example
 * const id = await runAta(device, identifyDevice());
 * const health = await runAta(device, smartReturnStatus());   // 'passed' | 'failed'
 */
import { InvalidArgumentError, ParseError } from '../errors.js';
import type { SenseData } from '../sense/types.js';
import { type AtaIdentify, decodeIdentifyDevice } from './identify.js';
import { AtaCommandCode, type AtaPassThroughOptions, AtaProtocol, SMART_LBA_KEY, SmartFeature } from './pass-through.js';
import type { AtaRegisters } from './registers.js';
import {
  decodeExtendedSelfTestLog,
  decodeLogDirectory,
  decodeSelfTestLog,
  decodeSmartData,
  decodeSmartThresholds,
  decodeSummaryErrorLog,
  type LogDirectory,
  type SelfTestLog,
  type SmartData,
  type SmartHealth,
  type SmartThresholds,
  type SummaryErrorLog,
  smartHealthFromLba,
} from './smart.js';

/** What the SATL returned for one ATA command. */
export interface AtaResult {
  /** Data-in bytes received (empty for non-data commands). */
  data: Uint8Array;
  /** ATA return registers, when the SATL returned them (CK_COND = 1, or an ATA error). */
  registers?: AtaRegisters;
  /** The sense data that carried them. */
  sense?: SenseData;
}

/** An ATA command as data: the pass-through fields without the CDB size, and its decoder. */
export interface AtaCommand<T = AtaResult> {
  /** e.g. "SMART READ DATA". */
  readonly name: string;
  readonly passThrough: Omit<AtaPassThroughOptions, 'cdbSize' | 'peripheralDeviceType'>;
  /** Data-out bytes for PIO data-out commands. */
  readonly data?: Uint8Array;
  /** True when the answer is in the registers, so the SATL must return them (CK_COND = 1). */
  readonly needsRegisters?: boolean;
  readonly timeoutMs?: number;
  /** Turns the raw result (data, returned registers) into the typed answer. */
  readonly decode: (result: AtaResult) => T;
}

function requireRegisters(name: string, result: AtaResult): AtaRegisters {
  if (result.registers === undefined) {
    throw new ParseError(name, 'the SATL returned no ATA registers although CK_COND was set (it ignores CK_COND)');
  }
  return result.registers;
}

function pioIn<T>(
  name: string,
  taskfile: Omit<AtaPassThroughOptions, 'protocol' | 'transferBytes'>,
  blocks: number,
  decode: (data: Uint8Array) => T,
): AtaCommand<T> {
  return {
    name,
    passThrough: { ...taskfile, protocol: AtaProtocol.PioDataIn, transferBytes: blocks * 512 },
    decode: (result) => decode(result.data),
  };
}

/** IDENTIFY DEVICE (ECh, ACS-4 §7.12): PIO data-in, one 512-byte block. */
export function identifyDevice(): AtaCommand<AtaIdentify> {
  return pioIn('IDENTIFY DEVICE', { command: AtaCommandCode.IdentifyDevice, count: 1 }, 1, decodeIdentifyDevice);
}

/** IDENTIFY DEVICE without decoding: the raw 512 bytes. */
export function identifyDeviceRaw(): AtaCommand<Uint8Array> {
  return pioIn('IDENTIFY DEVICE', { command: AtaCommandCode.IdentifyDevice, count: 1 }, 1, (data) => {
    if (data.length < 512) throw new ParseError('IDENTIFY DEVICE data', `needs 512 bytes, got ${data.length}`);
    return data.subarray(0, 512);
  });
}

function smart(feature: number, lbaLow = 0, count = 0): Omit<AtaPassThroughOptions, 'protocol' | 'transferBytes'> {
  return { command: AtaCommandCode.Smart, features: feature, count, lba: SMART_LBA_KEY | lbaLow };
}

/** SMART READ DATA (B0h/D0h): attributes, self-test status, capabilities. Pass the thresholds for verdicts. */
export function smartReadData(thresholds?: SmartThresholds): AtaCommand<SmartData> {
  return pioIn('SMART READ DATA', smart(SmartFeature.ReadData, 0, 1), 1, (data) => decodeSmartData(data, thresholds));
}

/**
 * SMART READ ATTRIBUTE THRESHOLDS (B0h/D1h, ATA/ATAPI-4 §8.41.5.3; obsolete since ATA/ATAPI-6, still answered
 * by drives): one 512-byte block. LBA(7:0) = 01h, as smartmontools sends it (smartctl 7.3, every `-d` type),
 * so a recorded exchange with either tool shows the same CDB.
 */
export function smartReadThresholds(): AtaCommand<SmartThresholds> {
  return pioIn('SMART READ THRESHOLDS', smart(SmartFeature.ReadThresholds, 1, 1), 1, decodeSmartThresholds);
}

/**
 * SMART RETURN STATUS (B0h/DAh, ACS-3 §7.48.7): non-data; the verdict is in the returned LBA mid/high, so
 * CK_COND is set. 'failed' means a pre-failure attribute is at or below its threshold.
 */
export function smartReturnStatus(): AtaCommand<SmartHealth> {
  return {
    name: 'SMART RETURN STATUS',
    passThrough: { ...smart(SmartFeature.ReturnStatus), protocol: AtaProtocol.NonData, checkCondition: true },
    needsRegisters: true,
    decode: (result) => smartHealthFromLba(requireRegisters('SMART RETURN STATUS', result).lba),
  };
}

function checkLogArgs(name: string, address: number, pages: number, maxPages: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xff) throw new InvalidArgumentError(`${name}: log address must be 0-255, got ${address}`);
  if (!Number.isInteger(pages) || pages < 1 || pages > maxPages) throw new InvalidArgumentError(`${name}: pages must be 1-${maxPages}, got ${pages}`);
}

/** SMART READ LOG (B0h/D5h, ACS-3 §7.48.8): `pages` 512-byte pages of SMART log `address`, raw. */
export function smartReadLog(address: number, pages = 1): AtaCommand<Uint8Array> {
  checkLogArgs('SMART READ LOG', address, pages, 0xff);
  return pioIn(`SMART READ LOG 0x${address.toString(16).padStart(2, '0')}`, smart(SmartFeature.ReadLog, address, pages), pages, (data) => {
    if (data.length < pages * 512) throw new ParseError('SMART log', `needs ${pages * 512} bytes, got ${data.length}`);
    return data.subarray(0, pages * 512);
  });
}

/** The SMART log directory (SMART READ LOG 00h). */
export function smartReadLogDirectory(): AtaCommand<LogDirectory> {
  return { ...smartReadLog(0x00), name: 'SMART READ LOG 0x00 (directory)', decode: (r) => decodeLogDirectory(r.data) };
}

/** The summary SMART error log (SMART READ LOG 01h). */
export function smartReadErrorLog(): AtaCommand<SummaryErrorLog> {
  return { ...smartReadLog(0x01), name: 'SMART READ LOG 0x01 (summary error log)', decode: (r) => decodeSummaryErrorLog(r.data) };
}

/** The SMART self-test log (SMART READ LOG 06h). */
export function smartReadSelfTestLog(): AtaCommand<SelfTestLog> {
  return { ...smartReadLog(0x06), name: 'SMART READ LOG 0x06 (self-test log)', decode: (r) => decodeSelfTestLog(r.data) };
}

/** Which General Purpose log READ LOG EXT reads (ACS-3), and how much of it. */
export interface ReadLogExtOptions {
  /** First page (0-65535). */
  page?: number;
  /** Pages to read (1-65535); default 1. */
  pages?: number;
  /** READ LOG DMA EXT (47h) instead of READ LOG EXT (2Fh): some SATLs only pass DMA through fast. */
  dma?: boolean;
  /** FEATURES: log-specific field; default 0. */
  logSpecific?: number;
}

/**
 * READ LOG EXT (2Fh, ACS-4 §7.24) or READ LOG DMA EXT (47h): a 48-bit command, so ATA PASS-THROUGH(16) only.
 * LBA(7:0) = log address, LBA(15:8) = page number (7:0), LBA(47:40) = page number (15:8), COUNT = pages.
 */
export function readLogExt(address: number, options: ReadLogExtOptions = {}): AtaCommand<Uint8Array> {
  const pages = options.pages ?? 1;
  checkLogArgs('READ LOG EXT', address, pages, 0xffff);
  const page = options.page ?? 0;
  if (!Number.isInteger(page) || page < 0 || page > 0xffff) throw new InvalidArgumentError(`READ LOG EXT: page must be 0-65535, got ${page}`);
  const logSpecific = options.logSpecific ?? 0;
  const lba = address + (page & 0xff) * 0x100 + (page >> 8) * 0x100_0000_0000;
  const dma = options.dma === true;
  const name = `READ LOG${dma ? ' DMA' : ''} EXT 0x${address.toString(16).padStart(2, '0')}`;
  return {
    name,
    passThrough: {
      command: dma ? AtaCommandCode.ReadLogDmaExt : AtaCommandCode.ReadLogExt,
      protocol: dma ? AtaProtocol.Dma : AtaProtocol.PioDataIn,
      extend: true,
      features: logSpecific,
      count: pages,
      lba,
      transferBytes: pages * 512,
    },
    decode: (result) => {
      if (result.data.length < pages * 512) throw new ParseError('log', `${name} needs ${pages * 512} bytes, got ${result.data.length}`);
      return result.data.subarray(0, pages * 512);
    },
  };
}

/** The General Purpose log directory (READ LOG EXT 00h). */
export function readGpLogDirectory(options: Pick<ReadLogExtOptions, 'dma'> = {}): AtaCommand<LogDirectory> {
  const command = readLogExt(0x00, options);
  return { ...command, decode: (r) => decodeLogDirectory(command.decode(r)) };
}

/** The extended SMART self-test log (READ LOG EXT 07h), `pages` pages (default 1). */
export function readExtendedSelfTestLog(options: Pick<ReadLogExtOptions, 'dma' | 'pages'> = {}): AtaCommand<SelfTestLog> {
  const command = readLogExt(0x07, options);
  return { ...command, decode: (r) => decodeExtendedSelfTestLog(command.decode(r)) };
}

/** Self-tests of SMART EXECUTE OFF-LINE IMMEDIATE (ACS-3 §7.48.5, table 130). */
export const SmartSelfTest = {
  offline: 0x00,
  short: 0x01,
  extended: 0x02,
  conveyance: 0x03,
  abort: 0x7f,
  shortCaptive: 0x81,
  extendedCaptive: 0x82,
  conveyanceCaptive: 0x83,
} as const;
export type SmartSelfTest = keyof typeof SmartSelfTest;

/**
 * SMART EXECUTE OFF-LINE IMMEDIATE (B0h/D4h): starts a self-test in the background ('short', 'extended',
 * 'conveyance', 'offline'), in captive mode (the command completes when the test does), or aborts the running
 * one ('abort'). Non-data. Progress: `smartReadData()`'s `selfTest`.
 */
export function smartExecuteOfflineImmediate(test: SmartSelfTest): AtaCommand<undefined> {
  const subcommand = SmartSelfTest[test];
  if (subcommand === undefined) throw new InvalidArgumentError(`unknown self-test "${String(test)}"; one of ${Object.keys(SmartSelfTest).join(', ')}`);
  const captive = subcommand >= 0x80;
  return {
    name: `SMART EXECUTE OFF-LINE IMMEDIATE (${test})`,
    passThrough: { ...smart(SmartFeature.ExecuteOfflineImmediate, subcommand), protocol: AtaProtocol.NonData },
    // A captive extended test can take hours; a background one returns at once.
    ...(captive ? { timeoutMs: 6 * 60 * 60 * 1000 } : {}),
    decode: () => undefined,
  };
}

/** Power modes of CHECK POWER MODE's COUNT (ACS-4 §7.3.2 table 50). */
export type AtaPowerMode = 'standby' | 'idle' | 'active-or-idle' | 'standby-z' | 'idle-a' | 'idle-b' | 'idle-c' | 'pm0-active' | 'unknown';

/** CHECK POWER MODE's answer (ACS-3): the power mode the drive reported in its COUNT register. */
export interface PowerModeResult {
  mode: AtaPowerMode;
  /** The COUNT value as returned. */
  count: number;
}

const POWER_MODES: Readonly<Record<number, AtaPowerMode>> = {
  0x00: 'standby',
  0x01: 'standby-z',
  0x40: 'pm0-active',
  0x41: 'pm0-active',
  0x80: 'idle',
  0x81: 'idle-a',
  0x82: 'idle-b',
  0x83: 'idle-c',
  0xff: 'active-or-idle',
};

/** CHECK POWER MODE (E5h): non-data; the mode is in the returned COUNT, so CK_COND is set. Never wakes the drive. */
export function checkPowerMode(): AtaCommand<PowerModeResult> {
  return {
    name: 'CHECK POWER MODE',
    passThrough: { command: AtaCommandCode.CheckPowerMode, protocol: AtaProtocol.NonData, checkCondition: true },
    needsRegisters: true,
    decode: (result) => {
      const count = requireRegisters('CHECK POWER MODE', result).count & 0xff;
      return { mode: POWER_MODES[count] ?? 'unknown', count };
    },
  };
}
