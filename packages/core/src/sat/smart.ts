/**
 * SMART data structures (ATA/ATAPI-8 ACS §7.53 and ACS-3 §7.48 SMART READ DATA,
 * READ THRESHOLDS (ATA-3, obsolete in later standards but universal), and the
 * logs of ACS-4 §9: log directory 00h, summary error log 01h, SMART self-test
 * log 06h, extended SMART self-test log 07h). Every decoder checks the length
 * first and throws ParseError; nothing allocates by a device-declared size.
 */
import { ParseError } from '../errors.js';
import { ataWord } from './identify.js';

const SECTOR = 512;

function requireSectors(what: string, data: Uint8Array, sectors = 1): Uint8Array {
  if (data.length < SECTOR * sectors) throw new ParseError(what, `needs ${SECTOR * sectors} bytes, got ${data.length}`);
  return data.subarray(0, SECTOR * sectors);
}

/** Data structure checksum (ACS-4 §9.1): every 512-byte sector sums to 0 mod 256; byte 511 makes it so. */
function checksumValid(sector: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < SECTOR; i++) sum = (sum + (sector[i] ?? 0)) & 0xff;
  return sum === 0;
}

/** Little-endian unsigned integer of `bytes` bytes (ATA data structures are little-endian). */
function le(data: Uint8Array, offset: number, bytes: number): number {
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + (data[offset + i] ?? 0);
  return value;
}

// ---------------------------------------------------------------------------
// Attributes

/** How an attribute's 6 raw bytes are shown (the common vendor conventions smartctl also uses). */
export type SmartRawFormat =
  /** The 48-bit value in decimal. */
  | 'raw48'
  /** Word 0 in decimal; when words 1-2 are non-zero, "(w2 w1)" after it. */
  | 'raw16(raw16)'
  /** Bytes 0-2 in decimal; when bytes 3-5 are non-zero, "(b5 b4 b3)" after it (hours + minutes etc.). */
  | 'raw24(raw8)'
  /** Word 0 in decimal; when word 1 is non-zero, "(Average w1)". */
  | 'raw16(avg16)'
  /** Byte 0 as a signed temperature in degrees Celsius, with the min/max most drives keep in bytes 1-4. */
  | 'tempminmax';

/** One entry of the known-attribute list: the usual name (smartctl's spelling, so output compares) and raw format. */
export interface SmartAttributeDefinition {
  name: string;
  format: SmartRawFormat;
}

/**
 * Attribute IDs whose meaning is common to most vendors (the de-facto list; no standard defines it since
 * ATA-3 made attributes vendor-specific). Anything else is "Unknown_Attribute" in raw48.
 */
export const SMART_ATTRIBUTES: Readonly<Record<number, SmartAttributeDefinition>> = {
  1: { name: 'Raw_Read_Error_Rate', format: 'raw48' },
  2: { name: 'Throughput_Performance', format: 'raw48' },
  3: { name: 'Spin_Up_Time', format: 'raw16(avg16)' },
  4: { name: 'Start_Stop_Count', format: 'raw48' },
  5: { name: 'Reallocated_Sector_Ct', format: 'raw16(raw16)' },
  7: { name: 'Seek_Error_Rate', format: 'raw48' },
  8: { name: 'Seek_Time_Performance', format: 'raw48' },
  9: { name: 'Power_On_Hours', format: 'raw24(raw8)' },
  10: { name: 'Spin_Retry_Count', format: 'raw48' },
  11: { name: 'Calibration_Retry_Count', format: 'raw48' },
  12: { name: 'Power_Cycle_Count', format: 'raw48' },
  13: { name: 'Read_Soft_Error_Rate', format: 'raw48' },
  175: { name: 'Program_Fail_Count_Chip', format: 'raw48' },
  176: { name: 'Erase_Fail_Count_Chip', format: 'raw48' },
  177: { name: 'Wear_Leveling_Count', format: 'raw48' },
  179: { name: 'Used_Rsvd_Blk_Cnt_Tot', format: 'raw48' },
  181: { name: 'Program_Fail_Cnt_Total', format: 'raw48' },
  182: { name: 'Erase_Fail_Count_Total', format: 'raw48' },
  183: { name: 'Runtime_Bad_Block', format: 'raw48' },
  184: { name: 'End-to-End_Error', format: 'raw48' },
  187: { name: 'Reported_Uncorrect', format: 'raw48' },
  188: { name: 'Command_Timeout', format: 'raw48' },
  189: { name: 'High_Fly_Writes', format: 'raw48' },
  190: { name: 'Airflow_Temperature_Cel', format: 'tempminmax' },
  191: { name: 'G-Sense_Error_Rate', format: 'raw48' },
  192: { name: 'Power-Off_Retract_Count', format: 'raw48' },
  193: { name: 'Load_Cycle_Count', format: 'raw48' },
  194: { name: 'Temperature_Celsius', format: 'tempminmax' },
  195: { name: 'Hardware_ECC_Recovered', format: 'raw48' },
  196: { name: 'Reallocated_Event_Count', format: 'raw16(raw16)' },
  197: { name: 'Current_Pending_Sector', format: 'raw48' },
  198: { name: 'Offline_Uncorrectable', format: 'raw48' },
  199: { name: 'UDMA_CRC_Error_Count', format: 'raw48' },
  200: { name: 'Multi_Zone_Error_Rate', format: 'raw48' },
  220: { name: 'Disk_Shift', format: 'raw48' },
  222: { name: 'Loaded_Hours', format: 'raw48' },
  223: { name: 'Load_Retry_Count', format: 'raw48' },
  224: { name: 'Load_Friction', format: 'raw48' },
  225: { name: 'Load_Cycle_Count', format: 'raw48' },
  226: { name: 'Load-in_Time', format: 'raw48' },
  231: { name: 'Temperature_Celsius', format: 'raw48' },
  232: { name: 'Available_Reservd_Space', format: 'raw48' },
  233: { name: 'Media_Wearout_Indicator', format: 'raw48' },
  240: { name: 'Head_Flying_Hours', format: 'raw48' },
  241: { name: 'Total_LBAs_Written', format: 'raw48' },
  242: { name: 'Total_LBAs_Read', format: 'raw48' },
  250: { name: 'Read_Error_Retry_Rate', format: 'raw48' },
  254: { name: 'Free_Fall_Sensor', format: 'raw48' },
};

/**
 * Whether an attribute is failing (smartctl's WHEN_FAILED column): 'now' when the normalized value is at or
 * below a non-zero threshold, 'past' when the worst value was, 'ok' otherwise, 'no-threshold' when the
 * threshold table has no entry for it. A threshold of 00h means "always passing" (ATA-3 §8.40.6.3).
 */
export type SmartAttributeVerdict = 'ok' | 'now' | 'past' | 'no-threshold';

/** One SMART attribute: its value, worst and threshold, the raw value decoded by its format, and a verdict. */
export interface SmartAttribute {
  id: number;
  name: string;
  /** The 16-bit status flags word. */
  flags: number;
  /** Flag bit 0: pre-failure (a value at threshold predicts failure) rather than old-age (advisory). */
  preFailure: boolean;
  /** Flag bit 1: updated during normal operation ("Always") rather than only off-line. */
  online: boolean;
  /** Normalized value (1-253), worst value seen. */
  value: number;
  worst: number;
  threshold?: number;
  /** The 6 raw bytes as a little-endian 48-bit number. */
  raw: number;
  /** Raw bytes, byte 0 first. */
  rawBytes: number[];
  /** Raw value shown in the attribute's common format (`SMART_ATTRIBUTES`). */
  rawText: string;
  verdict: SmartAttributeVerdict;
}

/** Off-line data collection status, self-test status and the capabilities of SMART READ DATA (bytes 362-376). */
export interface SmartData {
  revision: number;
  attributes: SmartAttribute[];
  offlineStatus: number;
  /** Self-test execution status (byte 363). */
  selfTest: SelfTestStatus;
  /** Seconds to complete off-line data collection (bytes 364-365). */
  offlineSeconds: number;
  offlineCapability: number;
  smartCapability: number;
  /** Byte 370 bit 0: error logging supported. */
  errorLogging: boolean;
  /** Self-test support: off-line capability bit 4 (self-test), bit 5 (conveyance), bit 6 (selective). */
  selfTestSupported: boolean;
  conveyanceSupported: boolean;
  selectiveSupported: boolean;
  /** Recommended polling times in minutes (bytes 372-376); extended uses the word when byte 373 is FFh. */
  pollingMinutes: { short: number; extended: number; conveyance: number };
  checksumValid: boolean;
}

/** The self-test execution status byte of SMART READ DATA (ACS-3): state and percent remaining. */
export interface SelfTestStatus {
  /** High nibble of the execution status byte (ACS-3 table 133). */
  code: number;
  text: string;
  /** Percent of the test remaining (low nibble x 10), meaningful while in progress (code 15). */
  remainingPercent: number;
  inProgress: boolean;
}

const SELF_TEST_STATUS = [
  'Completed without error',
  'Aborted by host',
  'Interrupted (host reset)',
  'Fatal or unknown error',
  'Completed: unknown failure',
  'Completed: electrical failure',
  'Completed: servo/seek failure',
  'Completed: read failure',
  'Completed: handling damage',
];

/** Decodes a self-test execution status byte (ACS-3 §7.48.6.2 table 133, also in the self-test log). */
export function decodeSelfTestStatus(byte: number): SelfTestStatus {
  const code = byte >> 4;
  return {
    code,
    text: code === 15 ? 'Self-test routine in progress' : (SELF_TEST_STATUS[code] ?? `Unknown status (0x${code.toString(16)})`),
    remainingPercent: (byte & 0x0f) * 10,
    inProgress: code === 15,
  };
}

/** Shows 6 raw bytes in a format (what smartctl prints in RAW_VALUE for the same format). */
export function formatSmartRaw(rawBytes: readonly number[], format: SmartRawFormat): string {
  const b = (i: number): number => rawBytes[i] ?? 0;
  const word = (i: number): number => b(2 * i) | (b(2 * i + 1) << 8);
  switch (format) {
    case 'raw16(raw16)':
      return word(1) !== 0 || word(2) !== 0 ? `${word(0)} (${word(2)} ${word(1)})` : `${word(0)}`;
    case 'raw24(raw8)': {
      const value = b(0) + b(1) * 256 + b(2) * 65536;
      return b(3) !== 0 || b(4) !== 0 || b(5) !== 0 ? `${value} (${b(5)} ${b(4)} ${b(3)})` : `${value}`;
    }
    case 'raw16(avg16)':
      return word(1) !== 0 ? `${word(0)} (Average ${word(1)})` : `${word(0)}`;
    case 'tempminmax': {
      const signed = (v: number): number => (v > 127 ? v - 256 : v);
      const t = signed(b(0));
      if (b(1) === 0 && word(1) === 0 && word(2) === 0) return `${t}`;
      // Where drives keep min/max (temperature byte 0): "00 00 HH LL xx TT" (most), "xx HH xx LL xx TT"
      // (Hitachi), "xx LL xx HH xx TT" (Kingston), "00 00 00 HH LL TT" (WDC). Take the first layout whose
      // min <= current <= max.
      const candidates: Array<[number, number]> = [];
      if (word(2) === 0) candidates.push([b(2), b(3)]);
      candidates.push([b(2), b(4)], [b(4), b(2)]);
      if (word(2) === 0 && b(3) === 0) candidates.push([b(1), b(2)]);
      for (const [lo, hi] of candidates) {
        const min = signed(lo);
        const max = signed(hi);
        if (min <= t && t <= max && !(min === 0 && max === 0)) return `${t} (Min/Max ${min}/${max})`;
      }
      return `${t} (${[5, 4, 3, 2, 1].map((i) => b(i)).join(' ')})`;
    }
    default:
      return `${le(Uint8Array.from(rawBytes), 0, 6)}`;
  }
}

function attributeVerdict(value: number, worst: number, threshold: number | undefined): SmartAttributeVerdict {
  if (threshold === undefined) return 'no-threshold';
  if (threshold === 0) return 'ok';
  if (value <= threshold) return 'now';
  if (worst <= threshold) return 'past';
  return 'ok';
}

/** Threshold table of SMART READ THRESHOLDS: attribute ID -> threshold (entries with ID 0 are empty). */
export interface SmartThresholds {
  revision: number;
  thresholds: Map<number, number>;
  checksumValid: boolean;
}

/** Decodes SMART READ THRESHOLDS data: 30 entries of 12 bytes from byte 2 (ID, threshold, reserved). */
export function decodeSmartThresholds(data: Uint8Array): SmartThresholds {
  const sector = requireSectors('SMART thresholds', data);
  const thresholds = new Map<number, number>();
  for (let i = 0; i < 30; i++) {
    const offset = 2 + i * 12;
    const id = sector[offset] ?? 0;
    if (id !== 0 && !thresholds.has(id)) thresholds.set(id, sector[offset + 1] ?? 0);
  }
  return { revision: ataWord(sector, 0), thresholds, checksumValid: checksumValid(sector) };
}

/**
 * Decodes SMART READ DATA: 30 attribute entries of 12 bytes from byte 2 (ID, flags word, value, worst,
 * 6 raw bytes, reserved), then the status and capability bytes. Pass the thresholds to get verdicts.
 */
export function decodeSmartData(data: Uint8Array, thresholds?: SmartThresholds): SmartData {
  const sector = requireSectors('SMART data', data);
  const attributes: SmartAttribute[] = [];
  for (let i = 0; i < 30; i++) {
    const offset = 2 + i * 12;
    const id = sector[offset] ?? 0;
    if (id === 0) continue;
    const flags = le(sector, offset + 1, 2);
    const value = sector[offset + 3] ?? 0;
    const worst = sector[offset + 4] ?? 0;
    const rawBytes = Array.from(sector.subarray(offset + 5, offset + 11));
    const definition = SMART_ATTRIBUTES[id] ?? { name: 'Unknown_Attribute', format: 'raw48' as const };
    const threshold = thresholds?.thresholds.get(id);
    const attribute: SmartAttribute = {
      id,
      name: definition.name,
      flags,
      preFailure: (flags & 0x01) !== 0,
      online: (flags & 0x02) !== 0,
      value,
      worst,
      raw: le(sector, offset + 5, 6),
      rawBytes,
      rawText: formatSmartRaw(rawBytes, definition.format),
      verdict: attributeVerdict(value, worst, threshold),
    };
    if (threshold !== undefined) attribute.threshold = threshold;
    attributes.push(attribute);
  }
  const offlineCapability = sector[367] ?? 0;
  const extendedByte = sector[373] ?? 0;
  return {
    revision: ataWord(sector, 0),
    attributes,
    offlineStatus: sector[362] ?? 0,
    selfTest: decodeSelfTestStatus(sector[363] ?? 0),
    offlineSeconds: le(sector, 364, 2),
    offlineCapability,
    smartCapability: le(sector, 368, 2),
    errorLogging: ((sector[370] ?? 0) & 0x01) !== 0,
    selfTestSupported: (offlineCapability & 0x10) !== 0,
    conveyanceSupported: (offlineCapability & 0x20) !== 0,
    selectiveSupported: (offlineCapability & 0x40) !== 0,
    pollingMinutes: { short: sector[372] ?? 0, extended: extendedByte === 0xff ? le(sector, 375, 2) : extendedByte, conveyance: sector[374] ?? 0 },
    checksumValid: checksumValid(sector),
  };
}

/** SMART RETURN STATUS result (ACS-3 §7.48.7): LBA mid/high C24Fh = no threshold exceeded, 2CF4h = exceeded. */
export type SmartHealth = 'passed' | 'failed';

/** Reads the SMART RETURN STATUS verdict from the returned LBA (bits 23:8). Throws ParseError for other values. */
export function smartHealthFromLba(lba: number): SmartHealth {
  const key = Math.floor(lba / 256) & 0xffff;
  if (key === 0xc24f) return 'passed';
  if (key === 0x2cf4) return 'failed';
  throw new ParseError('SMART RETURN STATUS', `LBA mid/high 0x${key.toString(16).padStart(4, '0')} is neither C24Fh (passed) nor 2CF4h (threshold exceeded)`);
}

// ---------------------------------------------------------------------------
// Logs

/** Log directory (log 00h, ACS-4 §9.2): GPL/SMART logging version and the number of pages of each log. */
export interface LogDirectory {
  version: number;
  /** Log address -> number of 512-byte pages, for every log with at least one page. */
  pages: Map<number, number>;
}

/** Common log names (ACS-4 table A.2). */
export const ATA_LOG_NAMES: Readonly<Record<number, string>> = {
  0x00: 'Log Directory',
  0x01: 'Summary SMART error log',
  0x02: 'Comprehensive SMART error log',
  0x03: 'Ext. Comprehensive SMART error log',
  0x04: 'Device Statistics log',
  0x06: 'SMART self-test log',
  0x07: 'Extended self-test log',
  0x09: 'Selective self-test log',
  0x0a: 'Device Statistics Notification',
  0x10: 'NCQ Command Error log',
  0x11: 'SATA Phy Event Counters log',
  0x13: 'SATA NCQ Send and Receive log',
  0x30: 'IDENTIFY DEVICE data log',
};

/** Decodes the log directory: word 0 version, word n = pages of log n (n = 1..255). */
export function decodeLogDirectory(data: Uint8Array): LogDirectory {
  const sector = requireSectors('log directory', data);
  const pages = new Map<number, number>();
  for (let address = 1; address < 256; address++) {
    const count = ataWord(sector, address);
    if (count !== 0) pages.set(address, count);
  }
  return { version: ataWord(sector, 0), pages };
}

/** One entry of a self-test log (SMART self-test log or Extended Comprehensive Self-test log). */
export interface SelfTestLogEntry {
  /** 1 = most recent. */
  number: number;
  /** The subcommand that started the test (SMART EXECUTE OFF-LINE IMMEDIATE LBA low). */
  subcommand: number;
  description: string;
  status: SelfTestStatus;
  /** Life timestamp, power-on hours. */
  lifetimeHours: number;
  checkpoint: number;
  /** LBA of the first failure, when the test failed on a read. */
  failingLba?: number;
}

/** A self-test log decoded: its revision and entries, newest first. */
export interface SelfTestLog {
  revision: number;
  /** Most recent first. */
  entries: SelfTestLogEntry[];
  checksumValid: boolean;
}

const SELF_TEST_NAMES: Readonly<Record<number, string>> = {
  0x00: 'Offline',
  0x01: 'Short offline',
  0x02: 'Extended offline',
  0x03: 'Conveyance offline',
  0x04: 'Selective offline',
  0x81: 'Short captive',
  0x82: 'Extended captive',
  0x83: 'Conveyance captive',
  0x84: 'Selective captive',
};

/** Name of a self-test subcommand the way smartctl prints it, e.g. 1 -> "Short offline". */
export function selfTestName(subcommand: number): string {
  return SELF_TEST_NAMES[subcommand] ?? (subcommand >= 0x40 && subcommand <= 0x7e ? 'Vendor offline' : `Unknown test 0x${subcommand.toString(16)}`);
}

function selfTestEntry(entry: Uint8Array, number: number, lbaBytes: number): SelfTestLogEntry | undefined {
  const subcommand = entry[0] ?? 0;
  const statusByte = entry[1] ?? 0;
  // An all-zero descriptor is an unused slot.
  if (entry.every((b) => b === 0)) return undefined;
  const status = decodeSelfTestStatus(statusByte);
  const out: SelfTestLogEntry = {
    number,
    subcommand,
    description: selfTestName(subcommand),
    status,
    lifetimeHours: le(entry, 2, 2),
    checkpoint: entry[4] ?? 0,
  };
  const lba = le(entry, 5, lbaBytes);
  const allOnes = lbaBytes === 4 ? 0xffff_ffff : 0xffff_ffff_ffff;
  if (status.code >= 3 && status.code <= 8 && lba !== allOnes) out.failingLba = lba;
  return out;
}

/**
 * Decodes the SMART self-test log (log 06h, ACS-4 §9.24): 21 descriptors of 24 bytes from byte 2, a circular
 * buffer whose most recent entry is at index byte 508 (1-21; 0 = empty).
 */
export function decodeSelfTestLog(data: Uint8Array): SelfTestLog {
  const sector = requireSectors('SMART self-test log', data);
  const latest = sector[508] ?? 0;
  if (latest > 21) throw new ParseError('SMART self-test log', `descriptor index ${latest} is beyond the 21 descriptors`);
  const entries: SelfTestLogEntry[] = [];
  for (let i = 0; latest > 0 && i < 21; i++) {
    const slot = (((latest - 1 - i) % 21) + 21) % 21;
    const entry = selfTestEntry(sector.subarray(2 + slot * 24, 2 + slot * 24 + 24), entries.length + 1, 4);
    if (entry !== undefined) entries.push(entry);
  }
  return { revision: ataWord(sector, 0), entries, checksumValid: checksumValid(sector) };
}

/**
 * Decodes the extended SMART self-test log (log 07h, ACS-4 §9.14) of one or more pages: 19 descriptors of
 * 26 bytes per page from byte 4, with a 48-bit failing LBA; word 1 of page 0 indexes the most recent
 * descriptor (1-based, across pages; 0 = empty).
 */
export function decodeExtendedSelfTestLog(data: Uint8Array): SelfTestLog {
  const pages = Math.floor(data.length / SECTOR);
  const first = requireSectors('extended self-test log', data);
  const total = pages * 19;
  const latest = ataWord(first, 1);
  if (latest > total) throw new ParseError('extended self-test log', `descriptor index ${latest} is beyond the ${total} descriptors received`);
  const entries: SelfTestLogEntry[] = [];
  for (let i = 0; latest > 0 && i < total; i++) {
    const n = (((latest - 1 - i) % total) + total) % total;
    const page = Math.floor(n / 19);
    const offset = page * SECTOR + 4 + (n % 19) * 26;
    const entry = selfTestEntry(data.subarray(offset, offset + 26), entries.length + 1, 6);
    if (entry !== undefined) entries.push(entry);
  }
  let valid = true;
  for (let p = 0; p < pages; p++) valid &&= checksumValid(data.subarray(p * SECTOR, (p + 1) * SECTOR));
  return { revision: first[0] ?? 0, entries, checksumValid: valid };
}

/** One command of the five before an error (summary error log command data structure, 12 bytes). */
export interface ErrorLogCommand {
  deviceControl: number;
  features: number;
  count: number;
  lba: number;
  device: number;
  command: number;
  /** Milliseconds since power-on. */
  timestampMs: number;
}

/** One error of the Summary SMART error log: the error registers and the commands that led to it. */
export interface ErrorLogEntry {
  /** 1 = most recent. */
  number: number;
  /** Device error count at this error (the summary log numbers errors from the total count down). */
  errorCount: number;
  error: number;
  status: number;
  count: number;
  lba: number;
  device: number;
  /** State byte: 0 unknown, 1 sleep, 2 standby, 3 active/idle, 4 executing SMART off-line or self-test. */
  state: number;
  lifetimeHours: number;
  /** The commands leading to the error, oldest first. */
  commands: ErrorLogCommand[];
}

/** The Summary SMART error log (SMART READ LOG 01h) decoded. */
export interface SummaryErrorLog {
  version: number;
  /** Total errors the device has recorded (may exceed the 5 it keeps). */
  errorCount: number;
  /** Most recent first, at most 5. */
  entries: ErrorLogEntry[];
  checksumValid: boolean;
}

/**
 * Decodes the summary SMART error log (log 01h, ACS-3 §A.15? ATA8-ACS §A.16): version, index of the most
 * recent of 5 error log data structures (90 bytes each from byte 2), device error count (bytes 452-453).
 */
export function decodeSummaryErrorLog(data: Uint8Array): SummaryErrorLog {
  const sector = requireSectors('summary SMART error log', data);
  const latest = sector[1] ?? 0;
  if (latest > 5) throw new ParseError('summary SMART error log', `error log index ${latest} is beyond the 5 entries`);
  const errorCount = le(sector, 452, 2);
  const entries: ErrorLogEntry[] = [];
  for (let i = 0; latest > 0 && i < 5; i++) {
    const slot = (((latest - 1 - i) % 5) + 5) % 5;
    const base = 2 + slot * 90;
    const structure = sector.subarray(base, base + 90);
    if (structure.every((b) => b === 0)) continue;
    const commands: ErrorLogCommand[] = [];
    for (let c = 0; c < 5; c++) {
      const cmd = structure.subarray(c * 12, c * 12 + 12);
      if (cmd.every((b) => b === 0)) continue;
      commands.push({
        deviceControl: cmd[0] ?? 0,
        features: cmd[1] ?? 0,
        count: cmd[2] ?? 0,
        lba: le(cmd, 3, 3),
        device: cmd[6] ?? 0,
        command: cmd[7] ?? 0,
        timestampMs: le(cmd, 8, 4),
      });
    }
    // Error data structure (30 bytes at offset 60): reserved, error, count, LBA low/mid/high, device, status,
    // 19 bytes extended information, state, life timestamp (hours).
    const e = structure.subarray(60, 90);
    entries.push({
      number: entries.length + 1,
      errorCount: Math.max(0, errorCount - i),
      error: e[1] ?? 0,
      count: e[2] ?? 0,
      lba: le(e, 3, 3),
      device: e[6] ?? 0,
      status: e[7] ?? 0,
      state: e[27] ?? 0,
      lifetimeHours: le(e, 28, 2),
      commands,
    });
  }
  return { version: sector[0] ?? 0, errorCount, entries, checksumValid: checksumValid(sector) };
}
