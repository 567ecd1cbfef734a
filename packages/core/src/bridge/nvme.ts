/**
 * NVMe admin commands as data, and decoders for what they return: Identify
 * Controller (CNS 01h), Identify Namespace (CNS 00h), the SMART / Health
 * Information log (02h) and the Error Information log (01h). Byte offsets are
 * those of the NVM Express Base Specification 2.0 (§5.17.2.1 figure 275 / Identify
 * Controller, NVM Command Set 1.0 §4.1.5.1 figure 97 / Identify Namespace, Base
 * 2.0 §5.16.1.3 figure 207 / SMART, §5.16.1.2 figure 205 / Error Information),
 * which keep the 1.4 layout.
 *
 * USB bridges carry these commands in vendor CDBs (see `nvme-bridges.ts`); the
 * commands here know nothing about USB.
 *
 * @example
 * const id = await runNvme(device, 'nvme-realtek', nvmeIdentifyController());
 * const health = await runNvme(device, 'nvme-realtek', nvmeSmartHealthLog());
 */
import { InvalidArgumentError, ParseError } from '../errors.js';
import { asciiField, checkInteger } from '../scsi/bytes.js';
import { leBig, leU16, leU32, leU64Safe } from './le.js';

/** Admin command opcodes (NVMe Base 2.0 §5, figure 138). Only the two reads are used here. */
export const NvmeAdminOpcode = {
  GetLogPage: 0x02,
  Identify: 0x06,
} as const;
export type NvmeAdminOpcode = (typeof NvmeAdminOpcode)[keyof typeof NvmeAdminOpcode];

/** Identify CNS values (NVMe Base 2.0 §5.17.1, figure 273). */
export const NvmeIdentifyCns = { Namespace: 0x00, Controller: 0x01 } as const;

/** Log page identifiers (NVMe Base 2.0 §5.16, figure 202). */
export const NvmeLogId = { ErrorInformation: 0x01, SmartHealth: 0x02, FirmwareSlot: 0x03, SelfTest: 0x06 } as const;

/** NSID FFFFFFFFh: all namespaces (NVMe Base 2.0 §3.2.1.2). */
export const NVME_BROADCAST_NSID = 0xffff_ffff;

/**
 * One NVMe admin command with a data-in transfer: the submission queue entry's
 * fields a host sets (NVMe Base 2.0 §4.2, figure 88), the transfer size, and a
 * decoder for the bytes. Build one with the functions below; send it with
 * `runNvme` through a USB bridge.
 */
export interface NvmeAdminCommand<T = Uint8Array> {
  /** e.g. "IDENTIFY CONTROLLER". */
  readonly name: string;
  readonly opcode: number;
  readonly nsid: number;
  readonly cdw10: number;
  readonly cdw11: number;
  readonly cdw12: number;
  readonly cdw13: number;
  readonly cdw14: number;
  readonly cdw15: number;
  /** Bytes the controller returns (the data pointer's size). */
  readonly dataLength: number;
  /** Decodes the data-in bytes; throws ParseError on garbage. */
  readonly decode: (data: Uint8Array) => T;
}

const U32 = 0xffff_ffff;

function admin<T>(
  name: string,
  fields: { opcode: number; nsid: number; cdw10: number; cdw11?: number; cdw12?: number; cdw13?: number },
  dataLength: number,
  decode: (data: Uint8Array) => T,
): NvmeAdminCommand<T> {
  return { name, cdw11: 0, cdw12: 0, cdw13: 0, cdw14: 0, cdw15: 0, ...fields, dataLength, decode };
}

/** Identify Controller (CNS 01h, NSID 0): 4096 bytes. */
export function nvmeIdentifyController(): NvmeAdminCommand<NvmeIdentifyController> {
  return admin('IDENTIFY CONTROLLER', { opcode: NvmeAdminOpcode.Identify, nsid: 0, cdw10: NvmeIdentifyCns.Controller }, 4096, decodeNvmeIdentifyController);
}

/** Identify Namespace (CNS 00h) for `nsid` (default 1, the only namespace most USB bridges reach): 4096 bytes. */
export function nvmeIdentifyNamespace(nsid = 1): NvmeAdminCommand<NvmeIdentifyNamespace> {
  checkInteger('nsid', nsid, 0xffff_fffe, 1);
  return admin('IDENTIFY NAMESPACE', { opcode: NvmeAdminOpcode.Identify, nsid, cdw10: NvmeIdentifyCns.Namespace }, 4096, decodeNvmeIdentifyNamespace);
}

/** Options of `nvmeGetLogPage`. */
export interface NvmeGetLogPageOptions {
  /** Log page identifier (LID). */
  logId: number;
  /** Bytes to read: a multiple of 4, 4-4096 (one page keeps every bridge and MDTS happy). */
  length: number;
  /** NSID; default FFFFFFFFh (controller-wide, what the SMART and error logs use). */
  nsid?: number;
  /** Log Page Offset in bytes (a multiple of 4); needs LPA bit 2 in Identify Controller. Default 0. */
  offset?: number;
}

/** Get Log Page (02h): CDW10 = NUMDL << 16 | LID, CDW11 = NUMDU, CDW12/13 = LPOL/LPOU (NVMe Base 2.0 §5.16). */
export function nvmeGetLogPage(options: NvmeGetLogPageOptions): NvmeAdminCommand<Uint8Array> {
  return getLogPage(`GET LOG PAGE 0x${(options.logId ?? 0).toString(16).padStart(2, '0')}`, options, (data) => data);
}

function getLogPage<T>(name: string, options: NvmeGetLogPageOptions, decode: (data: Uint8Array) => T): NvmeAdminCommand<T> {
  const logId = checkInteger('logId', options.logId, 0xff);
  const length = checkInteger('length', options.length, 4096, 4);
  if (length % 4 !== 0) throw new InvalidArgumentError(`length must be a multiple of 4 (NUMD counts dwords), got ${length}`);
  const offset = checkInteger('offset', options.offset ?? 0, U32);
  if (offset % 4 !== 0) throw new InvalidArgumentError(`offset must be a multiple of 4, got ${offset}`);
  const nsid = checkInteger('nsid', options.nsid ?? NVME_BROADCAST_NSID, U32);
  // NUMD is 0's based; with at most 4096 bytes it fits NUMDL and NUMDU (CDW11 15:0) stays 0.
  const numd = length / 4 - 1;
  return admin(name, { opcode: NvmeAdminOpcode.GetLogPage, nsid, cdw10: ((numd << 16) | logId) >>> 0, cdw12: offset }, length, decode);
}

/** SMART / Health Information log (02h), controller-wide: 512 bytes. */
export function nvmeSmartHealthLog(nsid = NVME_BROADCAST_NSID): NvmeAdminCommand<NvmeSmartHealth> {
  return getLogPage('GET LOG PAGE SMART/HEALTH', { logId: NvmeLogId.SmartHealth, length: 512, nsid }, decodeNvmeSmartHealth);
}

/** Error Information log (01h): `entries` 64-byte entries (Identify Controller ELPE + 1 at most), 1-64. */
export function nvmeErrorLog(entries: number): NvmeAdminCommand<NvmeErrorLogEntry[]> {
  checkInteger('entries', entries, 64, 1);
  return getLogPage('GET LOG PAGE ERROR INFORMATION', { logId: NvmeLogId.ErrorInformation, length: entries * 64 }, decodeNvmeErrorLog);
}

/**
 * Read-only mode for NVMe is an allowlist (like ATA's): Identify and Get Log Page
 * only. Returns why a command may not be sent to a device opened read-only, or
 * undefined when it may.
 */
export function nvmeReadOnlyRefusal(command: Pick<NvmeAdminCommand<unknown>, 'opcode'>): string | undefined {
  if (command.opcode === NvmeAdminOpcode.Identify || command.opcode === NvmeAdminOpcode.GetLogPage) return undefined;
  return `NVMe admin command 0x${command.opcode.toString(16).padStart(2, '0')} (only Identify and Get Log Page are reads)`;
}

// ---------------------------------------------------------------------------
// Identify Controller

/** One power state descriptor (NVMe Base 2.0 §5.17.2.1, figure 276). */
export interface NvmePowerState {
  /** Maximum power in watts (MP in 0.01 W, or 0.0001 W when MXPS is set). */
  maxPowerWatts: number;
  /** NOPS: a non-operational state. */
  nonOperational: boolean;
  /** Entry / exit latency in microseconds. */
  entryLatencyUs: number;
  exitLatencyUs: number;
}

/** Identify Controller data, decoded (NVMe Base 2.0 figure 275). */
export interface NvmeIdentifyController {
  /** PCI Vendor ID (VID) and Subsystem Vendor ID (SSVID). */
  pciVendorId: number;
  pciSubsystemVendorId: number;
  serial: string;
  model: string;
  firmware: string;
  /** IEEE OUI Identifier, as the 24-bit number smartctl prints (bytes 73-75, least significant first). */
  ieeeOui: number;
  /** Controller ID (CNTLID). */
  controllerId: number;
  /** Version (VER), "1.4" / "2.0.1", or undefined when 0 (controllers before NVMe 1.2). */
  version?: string;
  /** Maximum Data Transfer Size in bytes relative to the minimum page size: 2^MDTS pages; undefined = no limit (0). */
  mdtsExponent?: number;
  /** Optional Admin Command Support (OACS) bits, decoded. */
  optionalAdminCommands: { security: boolean; format: boolean; firmwareDownload: boolean; namespaceManagement: boolean; selfTest: boolean; raw: number };
  /** Firmware Updates (FRMW): slots, slot 1 read-only. */
  firmwareSlots: number;
  firmwareSlot1ReadOnly: boolean;
  /** Log Page Attributes (LPA): bit 2 = Get Log Page offset (and extended data) supported. */
  logPageOffsetSupported: boolean;
  smartPerNamespace: boolean;
  /** Error Log Page Entries, ELPE + 1. */
  errorLogEntries: number;
  /** Number of power states, NPSS + 1. */
  powerStates: number;
  /** Warning / critical composite temperature thresholds in kelvin (WCTEMP, CCTEMP); undefined when 0. */
  warningTemperatureK?: number;
  criticalTemperatureK?: number;
  /** Total / unallocated NVM capacity in bytes (TNVMCAP / UNVMCAP, 128-bit). */
  totalCapacity: bigint;
  unallocatedCapacity: bigint;
  /** Extended device self-test time in minutes (EDSTT), when self-test is supported. */
  extendedSelfTestMinutes?: number;
  /** Number of Namespaces (NN). */
  namespaces: number;
  /** Optional NVM Command Support (ONCS) bits. */
  oncs: number;
  /** Volatile write cache present (VWC bit 0). */
  volatileWriteCache: boolean;
  /** Power state descriptors present in the data (up to `powerStates`). */
  powerStateDescriptors: NvmePowerState[];
}

/** Fields through SGLS (byte 539) are needed; power state descriptors are read as far as the data goes. */
const ID_CTRL_MIN = 540;

/** Decodes Identify Controller data (4096 bytes; at least the first 540). */
export function decodeNvmeIdentifyController(data: Uint8Array): NvmeIdentifyController {
  const what = 'NVMe Identify Controller';
  if (data.length < ID_CTRL_MIN) throw new ParseError(what, `needs at least ${ID_CTRL_MIN} bytes, got ${data.length}`);
  const ver = leU32(data, 80);
  const mdts = data[77] ?? 0;
  const oacs = leU16(data, 256);
  const frmw = data[260] ?? 0;
  const lpa = data[261] ?? 0;
  const npss = data[263] ?? 0;
  const wctemp = leU16(data, 266);
  const cctemp = leU16(data, 268);
  const edstt = leU16(data, 316);
  const selfTest = (oacs & 0x10) !== 0;
  const out: NvmeIdentifyController = {
    pciVendorId: leU16(data, 0),
    pciSubsystemVendorId: leU16(data, 2),
    serial: asciiField(data, 4, 24),
    model: asciiField(data, 24, 64),
    firmware: asciiField(data, 64, 72),
    ieeeOui: (data[73] ?? 0) | ((data[74] ?? 0) << 8) | ((data[75] ?? 0) << 16),
    controllerId: leU16(data, 78),
    optionalAdminCommands: {
      security: (oacs & 0x01) !== 0,
      format: (oacs & 0x02) !== 0,
      firmwareDownload: (oacs & 0x04) !== 0,
      namespaceManagement: (oacs & 0x08) !== 0,
      selfTest,
      raw: oacs,
    },
    firmwareSlots: (frmw >> 1) & 0x07,
    firmwareSlot1ReadOnly: (frmw & 0x01) !== 0,
    logPageOffsetSupported: (lpa & 0x04) !== 0,
    smartPerNamespace: (lpa & 0x01) !== 0,
    errorLogEntries: (data[262] ?? 0) + 1,
    powerStates: npss + 1,
    totalCapacity: leBig(data, 280, 16),
    unallocatedCapacity: leBig(data, 296, 16),
    namespaces: leU32(data, 516),
    oncs: leU16(data, 520),
    volatileWriteCache: ((data[525] ?? 0) & 0x01) !== 0,
    powerStateDescriptors: [],
  };
  if (ver !== 0) {
    const tertiary = ver & 0xff;
    out.version = `${ver >>> 16}.${(ver >>> 8) & 0xff}${tertiary !== 0 ? `.${tertiary}` : ''}`;
  }
  if (mdts !== 0) out.mdtsExponent = mdts;
  if (wctemp !== 0) out.warningTemperatureK = wctemp;
  if (cctemp !== 0) out.criticalTemperatureK = cctemp;
  if (selfTest) out.extendedSelfTestMinutes = edstt;
  // Power state descriptors: 32 bytes each from byte 2048, NPSS + 1 of them (at most 32).
  for (let i = 0; i <= npss && i < 32; i++) {
    const at = 2048 + i * 32;
    if (at + 32 > data.length) break;
    const mp = leU16(data, at);
    const flags = data[at + 3] ?? 0;
    out.powerStateDescriptors.push({
      maxPowerWatts: (flags & 0x01) !== 0 ? mp / 10_000 : mp / 100,
      nonOperational: (flags & 0x02) !== 0,
      entryLatencyUs: leU32(data, at + 4),
      exitLatencyUs: leU32(data, at + 8),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Identify Namespace

/** One LBA Format data structure (NVM Command Set 1.0 figure 98). */
export interface NvmeLbaFormat {
  /** Metadata bytes per LBA (MS). */
  metadataSize: number;
  /** LBA data size in bytes: 2^LBADS. */
  dataSize: number;
  /** Relative performance (RP): 0 best ... 3 degraded. */
  relativePerformance: number;
}

/** Identify Namespace data, decoded (NVM Command Set 1.0 figure 97). */
export interface NvmeIdentifyNamespace {
  /** False when NSZE is 0: the NSID names no active namespace (the controller returns zeros). */
  active: boolean;
  /** Namespace Size / Capacity / Utilization, in logical blocks. */
  size: number;
  capacity: number;
  utilization: number;
  /** NSFEAT bit 0: thin provisioning. */
  thinProvisioning: boolean;
  /** Supported LBA formats (NLBAF + 1, at most 64, as far as the data goes). */
  lbaFormats: NvmeLbaFormat[];
  /** Index of the formatted LBA format (FLBAS bits 3:0, with bits 6:5 as the upper bits when NLBAF > 16). */
  formattedLbaIndex: number;
  /** Logical block size in bytes of the formatted LBA format (undefined for an inactive namespace). */
  logicalBlockSize?: number;
  /** Capacity in bytes (size x logical block size). */
  sizeBytes?: number;
  /** IEEE Extended Unique Identifier (EUI64) as 16 hex digits, when non-zero. */
  eui64?: string;
  /** Namespace Globally Unique Identifier (NGUID) as 32 hex digits, when non-zero. */
  nguid?: string;
}

/** Fields through the 16 LBA formats of NVMe 1.4 (byte 191). */
const ID_NS_MIN = 192;

function hexIfNonZero(data: Uint8Array, start: number, end: number): string | undefined {
  let text = '';
  let nonZero = false;
  for (let i = start; i < end; i++) {
    const b = data[i] ?? 0;
    if (b !== 0) nonZero = true;
    text += b.toString(16).padStart(2, '0');
  }
  return nonZero ? text : undefined;
}

/** Decodes Identify Namespace data (4096 bytes; at least the first 192). */
export function decodeNvmeIdentifyNamespace(data: Uint8Array): NvmeIdentifyNamespace {
  const what = 'NVMe Identify Namespace';
  if (data.length < ID_NS_MIN) throw new ParseError(what, `needs at least ${ID_NS_MIN} bytes, got ${data.length}`);
  const size = leU64Safe(data, 0, what, 'NSZE');
  const nlbaf = data[25] ?? 0;
  const flbas = data[26] ?? 0;
  // NVM Command Set 1.0 figure 97: FLBAS bits 3:0 are the low and bits 6:5 the high bits of the index when NLBAF > 16.
  const formattedLbaIndex = nlbaf >= 16 ? (flbas & 0x0f) | ((flbas & 0x60) >> 1) : flbas & 0x0f;
  const formats: NvmeLbaFormat[] = [];
  for (let i = 0; i <= nlbaf && i < 64; i++) {
    const at = 128 + i * 4;
    if (at + 4 > data.length) break;
    formats.push({ metadataSize: leU16(data, at), dataSize: 2 ** (data[at + 2] ?? 0), relativePerformance: (data[at + 3] ?? 0) & 0x03 });
  }
  const out: NvmeIdentifyNamespace = {
    active: size !== 0,
    size,
    capacity: leU64Safe(data, 8, what, 'NCAP'),
    utilization: leU64Safe(data, 16, what, 'NUSE'),
    thinProvisioning: ((data[24] ?? 0) & 0x01) !== 0,
    lbaFormats: formats,
    formattedLbaIndex,
  };
  if (out.active) {
    if (formattedLbaIndex > nlbaf) throw new ParseError(what, `FLBAS selects LBA format ${formattedLbaIndex} but NLBAF says ${nlbaf + 1} formats`);
    const lbads = data[128 + formattedLbaIndex * 4 + 2] ?? 0;
    // LBADS below 9 (512 bytes) is not supported (NVM Command Set 1.0 figure 98); above 31 is garbage.
    if (lbads < 9 || lbads > 31) throw new ParseError(what, `LBADS ${lbads} of the formatted LBA format is not a block size`);
    out.logicalBlockSize = 2 ** lbads;
    out.sizeBytes = size * out.logicalBlockSize;
  }
  const nguid = hexIfNonZero(data, 104, 120);
  const eui64 = hexIfNonZero(data, 120, 128);
  if (nguid !== undefined) out.nguid = nguid;
  if (eui64 !== undefined) out.eui64 = eui64;
  return out;
}

// ---------------------------------------------------------------------------
// SMART / Health Information (log 02h)

/** Critical Warning bits (NVMe Base 2.0 figure 207, byte 0). */
export const NvmeCriticalWarning = {
  SpareBelowThreshold: 0x01,
  Temperature: 0x02,
  ReliabilityDegraded: 0x04,
  ReadOnly: 0x08,
  VolatileBackupFailed: 0x10,
  PersistentMemoryReadOnly: 0x20,
} as const;

/** The SMART / Health Information log, decoded (NVMe Base 2.0 figure 207). */
export interface NvmeSmartHealth {
  /** Critical Warning byte; any bit set means the health verdict is 'failed' (smartctl's convention). */
  criticalWarning: number;
  warnings: {
    spareBelowThreshold: boolean;
    temperature: boolean;
    reliabilityDegraded: boolean;
    readOnly: boolean;
    volatileBackupFailed: boolean;
    persistentMemoryReadOnly: boolean;
  };
  health: 'passed' | 'failed';
  /** Composite Temperature in kelvin and degrees Celsius (undefined when 0: not reported). */
  temperatureK?: number;
  temperatureC?: number;
  /** Available Spare and its threshold, and Percentage Used, in percent. */
  availableSpare: number;
  availableSpareThreshold: number;
  percentageUsed: number;
  /** Data Units Read / Written: thousands of 512-byte units (so x 512000 bytes). */
  dataUnitsRead: bigint;
  dataUnitsWritten: bigint;
  hostReadCommands: bigint;
  hostWriteCommands: bigint;
  /** Controller Busy Time, minutes. */
  controllerBusyTime: bigint;
  powerCycles: bigint;
  powerOnHours: bigint;
  unsafeShutdowns: bigint;
  mediaErrors: bigint;
  errorLogEntries: bigint;
  /** Warning / Critical Composite Temperature Time, minutes. */
  warningTemperatureTime: number;
  criticalTemperatureTime: number;
  /** Temperature Sensors 1-8 in kelvin; 0 = not implemented. */
  temperatureSensorsK: number[];
  thermalTransitions: [number, number];
  thermalTotalTime: [number, number];
}

/** Up to Total Time For Thermal Management Temperature 2 (byte 231). */
const SMART_MIN = 232;

/** Decodes the SMART / Health Information log (512 bytes; at least the first 232). */
export function decodeNvmeSmartHealth(data: Uint8Array): NvmeSmartHealth {
  if (data.length < SMART_MIN) throw new ParseError('NVMe SMART/Health Information log', `needs at least ${SMART_MIN} bytes, got ${data.length}`);
  const w = data[0] ?? 0;
  const k = leU16(data, 1);
  const out: NvmeSmartHealth = {
    criticalWarning: w,
    warnings: {
      spareBelowThreshold: (w & NvmeCriticalWarning.SpareBelowThreshold) !== 0,
      temperature: (w & NvmeCriticalWarning.Temperature) !== 0,
      reliabilityDegraded: (w & NvmeCriticalWarning.ReliabilityDegraded) !== 0,
      readOnly: (w & NvmeCriticalWarning.ReadOnly) !== 0,
      volatileBackupFailed: (w & NvmeCriticalWarning.VolatileBackupFailed) !== 0,
      persistentMemoryReadOnly: (w & NvmeCriticalWarning.PersistentMemoryReadOnly) !== 0,
    },
    health: w === 0 ? 'passed' : 'failed',
    availableSpare: data[3] ?? 0,
    availableSpareThreshold: data[4] ?? 0,
    percentageUsed: data[5] ?? 0,
    dataUnitsRead: leBig(data, 32, 16),
    dataUnitsWritten: leBig(data, 48, 16),
    hostReadCommands: leBig(data, 64, 16),
    hostWriteCommands: leBig(data, 80, 16),
    controllerBusyTime: leBig(data, 96, 16),
    powerCycles: leBig(data, 112, 16),
    powerOnHours: leBig(data, 128, 16),
    unsafeShutdowns: leBig(data, 144, 16),
    mediaErrors: leBig(data, 160, 16),
    errorLogEntries: leBig(data, 176, 16),
    warningTemperatureTime: leU32(data, 192),
    criticalTemperatureTime: leU32(data, 196),
    temperatureSensorsK: Array.from({ length: 8 }, (_, i) => leU16(data, 200 + i * 2)),
    thermalTransitions: [leU32(data, 216), leU32(data, 220)],
    thermalTotalTime: [leU32(data, 224), leU32(data, 228)],
  };
  if (k !== 0) {
    out.temperatureK = k;
    out.temperatureC = k - 273;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Error Information (log 01h)

/** One Error Information log entry (NVMe Base 2.0 figure 205). */
export interface NvmeErrorLogEntry {
  /** Error Count: unique, increasing; 0 = an unused entry. */
  errorCount: bigint;
  /** Submission Queue ID, Command ID, Status Field, Parameter Error Location; undefined when FFFFh (not applicable). */
  submissionQueueId?: number;
  commandId?: number;
  statusField?: number;
  parameterErrorLocation?: number;
  /** LBA, undefined when all ones. */
  lba?: bigint;
  /** Namespace, undefined when FFFFFFFFh. */
  nsid?: number;
  vendorSpecific: number;
}

/** Decodes Error Information log entries (64 bytes each); trailing bytes short of an entry are ignored. */
export function decodeNvmeErrorLog(data: Uint8Array): NvmeErrorLogEntry[] {
  if (data.length < 64) throw new ParseError('NVMe Error Information log', `needs at least one 64-byte entry, got ${data.length} bytes`);
  const entries: NvmeErrorLogEntry[] = [];
  for (let at = 0; at + 64 <= data.length; at += 64) {
    const entry: NvmeErrorLogEntry = { errorCount: leBig(data, at, 8), vendorSpecific: data[at + 28] ?? 0 };
    const u16 = (offset: number): number | undefined => {
      const v = leU16(data, at + offset);
      return v === 0xffff ? undefined : v;
    };
    const sq = u16(8);
    const cmd = u16(10);
    const status = u16(12);
    const location = u16(14);
    if (sq !== undefined) entry.submissionQueueId = sq;
    if (cmd !== undefined) entry.commandId = cmd;
    if (status !== undefined) entry.statusField = status;
    if (location !== undefined) entry.parameterErrorLocation = location;
    const lba = leBig(data, at + 16, 8);
    if (lba !== 0xffff_ffff_ffff_ffffn) entry.lba = lba;
    const nsid = leU32(data, at + 24);
    if (nsid !== NVME_BROADCAST_NSID) entry.nsid = nsid;
    entries.push(entry);
  }
  return entries;
}
