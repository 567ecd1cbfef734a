/**
 * A simulated SAT target: an emulated ATA drive behind a SCSI/ATA Translation
 * layer (T10 SAT-4), plugged into the simulator as its vendor hook. It answers
 * ATA PASS-THROUGH(16)/(12) with IDENTIFY DEVICE data, SMART attributes and
 * thresholds, the SMART and GP logs, self-tests that progress on a clock and can
 * be aborted, and CHECK POWER MODE; it returns the ATA registers in the sense
 * format the control mode page's D_SENSE bit selects (set with MODE SELECT),
 * and can misbehave like real bridges (faults).
 *
 * Like `sim/sense.ts`, it encodes its answers itself instead of using the
 * host's decoders, so a decoder bug cannot hide behind an encoder bug.
 *
 * @example
 * const drive = new SimAtaDrive({ model: 'SIM SSD', serial: 'S1' });
 * const sim = new SimulatedDevice({ luns: [{}], vendorCommand: drive.hook });
 */
import type { SimVendorHook, SimVendorResult } from './scsi-plan.js';
import type { SimSense } from './sense.js';

/** One SMART attribute of the emulated drive. */
export interface SimAtaAttribute {
  id: number;
  /** Flags word: bit 0 pre-failure, bit 1 online (default 0x0003). */
  flags?: number;
  value: number;
  worst?: number;
  /** The 48-bit raw value (or pass `rawBytes`). */
  raw?: number;
  rawBytes?: number[];
  /** Threshold in READ THRESHOLDS (default 0: "always passing"). */
  threshold?: number;
}

/** Ways a real SATL misbehaves. */
export interface SimAtaFaults {
  /** Never return registers on success: CK_COND is ignored (status GOOD, no sense). */
  ignoresCheckCondition?: boolean;
  /** Only ATA PASS-THROUGH(12) is known: 85h fails with INVALID COMMAND OPERATION CODE. */
  only12ByteCdb?: boolean;
  /** Always fixed-format sense, whatever D_SENSE says. */
  fixedSenseOnly?: boolean;
}

/** How a {@link SimAtaDrive} is built: identity, capacity, SMART attributes and the faults it shows. */
export interface SimAtaDriveOptions {
  model?: string;
  serial?: string;
  firmware?: string;
  /** User addressable sectors (default 2^21: 1 GiB at 512 bytes). */
  sectors?: number;
  /** Logical sector size (default 512) and physical (default = logical). */
  logicalSectorSize?: number;
  physicalSectorSize?: number;
  /** Attributes (default: a healthy drive's handful). */
  attributes?: SimAtaAttribute[];
  /** Power-on hours, the life timestamp of self-test log entries (default 1234). */
  powerOnHours?: number;
  /** Self-test durations in ms (defaults: short 2 minutes, extended 60 minutes, conveyance 5 minutes). */
  selfTestMs?: { short?: number; extended?: number; conveyance?: number };
  /** A self-test fails at this LBA (status 7, read failure) when it runs past it, as a fraction 0-1 of the test. */
  selfTestFailure?: { lba: number; atFraction: number };
  /** Clock for self-test progress (default Date.now); tests pass their own. */
  now?: () => number;
  /** Initial D_SENSE of the control mode page (default false: fixed format). */
  descriptorSense?: boolean;
  faults?: SimAtaFaults;
  /** Summary error log entries to report (most recent last): ATA error and status registers, LBA, hours. */
  errors?: Array<{ error: number; status: number; lba: number; lifetimeHours: number; command: number }>;
  /** Support READ LOG (DMA) EXT (default true; QEMU's IDE drive has none). */
  readLogExt?: boolean;
}

interface Registers {
  error: number;
  status: number;
  device: number;
  count: number;
  lba: number;
}

interface SelfTestRecord {
  subcommand: number;
  /** Self-test execution status byte. */
  status: number;
  lifetimeHours: number;
  failingLba?: number;
}

const DEFAULT_ATTRIBUTES: SimAtaAttribute[] = [
  { id: 1, flags: 0x000f, value: 100, worst: 100, raw: 0, threshold: 6 },
  { id: 5, flags: 0x0033, value: 100, worst: 100, raw: 0, threshold: 36 },
  { id: 9, flags: 0x0032, value: 99, worst: 99, raw: 1234 },
  { id: 12, flags: 0x0032, value: 100, worst: 100, raw: 42, threshold: 20 },
  { id: 194, flags: 0x0022, value: 64, worst: 45, rawBytes: [36, 0, 18, 0, 55, 0] },
  { id: 197, flags: 0x0012, value: 100, worst: 100, raw: 0 },
];

const ATA_STATUS_OK = 0x50; // DRDY | DSC
const ATA_STATUS_ERR = 0x51; // DRDY | DSC | ERR
const ATA_ERROR_ABORT = 0x04;

function le(target: Uint8Array, offset: number, value: number, bytes: number): void {
  let v = value;
  for (let i = 0; i < bytes; i++) {
    target[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** ATA string: two characters per word, the first in the high byte (ACS-4 §3.4.9). */
function ataString(target: Uint8Array, firstWord: number, words: number, text: string): void {
  for (let i = 0; i < words * 2; i++) {
    const c = i < text.length ? text.charCodeAt(i) & 0x7f : 0x20;
    target[firstWord * 2 + (i ^ 1)] = c;
  }
}

function seal(sector: Uint8Array): Uint8Array {
  let sum = 0;
  for (let i = 0; i < 511; i++) sum = (sum + (sector[i] ?? 0)) & 0xff;
  sector[511] = (256 - sum) & 0xff;
  return sector;
}

/** An emulated ATA drive behind a SAT layer; `hook` is the simulator's vendor hook. */
export class SimAtaDrive {
  readonly model: string;
  readonly serial: string;
  readonly firmware: string;
  readonly sectors: number;
  readonly attributes: SimAtaAttribute[];
  /** D_SENSE of the control mode page: true = descriptor-format sense (MODE SELECT changes it). */
  descriptorSense: boolean;
  faults: SimAtaFaults;
  /** Every ATA command the drive executed, for tests: command, features, count, lba. */
  readonly log: Array<{ command: number; features: number; count: number; lba: number; cdbSize: 12 | 16 }> = [];
  readonly #options: SimAtaDriveOptions;
  readonly #now: () => number;
  #running: { subcommand: number; started: number; duration: number } | undefined;
  #lastStatus = 0x00;
  readonly #selfTests: SelfTestRecord[] = [];
  #smartEnabled = true;

  constructor(options: SimAtaDriveOptions = {}) {
    this.#options = options;
    this.model = options.model ?? 'USBMS SIM ATA DRIVE';
    this.serial = options.serial ?? 'SIMATA0001';
    this.firmware = options.firmware ?? '1.0';
    this.sectors = options.sectors ?? 2 ** 21;
    this.attributes = (options.attributes ?? DEFAULT_ATTRIBUTES).map((a) => ({ ...a }));
    this.descriptorSense = options.descriptorSense ?? false;
    this.faults = { ...options.faults };
    this.#now = options.now ?? Date.now;
  }

  /** The simulator vendor hook: ATA PASS-THROUGH and MODE SELECT of the control mode page. */
  readonly hook: SimVendorHook = (cdb, dataOut) => {
    const opcode = cdb[0] ?? 0;
    if (opcode === 0x85 || opcode === 0xa1) return this.#passThrough(cdb, dataOut);
    if (opcode === 0x15 || opcode === 0x55) return this.#modeSelect(cdb, dataOut, opcode === 0x55);
    return undefined;
  };

  /** The self-test execution status byte now (SMART READ DATA byte 363): 0xF0 | remaining/10 while running. */
  selfTestStatus(): number {
    this.#advance();
    if (this.#running === undefined) return this.#lastStatus;
    const done = Math.min(1, (this.#now() - this.#running.started) / this.#running.duration);
    const remainingTenths = Math.min(9, Math.ceil((1 - done) * 10));
    return 0xf0 | remainingTenths;
  }

  /** IDENTIFY DEVICE data (ACS-4 table 45) of this drive. */
  identifyData(): Uint8Array {
    const d = new Uint8Array(512);
    const w = (n: number, v: number): void => le(d, n * 2, v, 2);
    w(0, 0x0040); // fixed device
    ataString(d, 10, 10, this.serial);
    ataString(d, 23, 4, this.firmware);
    ataString(d, 27, 20, this.model);
    w(47, 0x8010);
    w(49, 0x0300); // LBA, DMA
    w(53, 0x0006);
    le(d, 120, Math.min(this.sectors, 0x0fff_ffff), 4); // words 60-61
    w(75, 31); // queue depth 32
    w(76, 0x0106); // SATA gen1/2, NCQ
    w(80, 0x07f0); // ATA/ATAPI-4 .. ACS-2... up to bit 10 = ACS-3
    w(82, 0x746b); // SMART (0), security (1), write cache, look-ahead ...
    w(83, 0x7400 | 0x0400); // bit 14 valid, 48-bit (10)
    w(84, 0x4163); // valid, SMART error log (0), self-test (1), GPL (5), WWN (8)
    w(85, 0x7469); // SMART enabled (0), security not enabled
    w(86, 0xb401); // 48-bit enabled (10)
    w(87, 0x4163);
    le(d, 200, this.sectors, 8); // words 100-103
    const logical = this.#options.logicalSectorSize ?? 512;
    const physical = this.#options.physicalSectorSize ?? logical;
    let w106 = 0x4000;
    if (physical > logical) w106 |= 0x2000 | Math.round(Math.log2(physical / logical));
    if (logical !== 512) {
      w106 |= 0x1000;
      le(d, 234, logical / 2, 4); // words 117-118
    }
    w(106, w106);
    w(108, 0x5000);
    w(109, 0x1234);
    w(110, 0x5678);
    w(111, 0x9abc);
    w(128, 0x0021); // security supported, enhanced erase
    w(169, 0x0001); // TRIM
    w(217, 0x0001); // non-rotating
    w(255, 0x00a5);
    return seal(d);
  }

  /** SMART READ DATA (ATA8-ACS table 59 layout). */
  smartData(): Uint8Array {
    const d = new Uint8Array(512);
    le(d, 0, 0x0010, 2);
    this.attributes.slice(0, 30).forEach((a, i) => {
      const o = 2 + i * 12;
      d[o] = a.id;
      le(d, o + 1, a.flags ?? 0x0003, 2);
      d[o + 3] = a.value;
      d[o + 4] = a.worst ?? a.value;
      if (a.rawBytes !== undefined) d.set(a.rawBytes.slice(0, 6), o + 5);
      else le(d, o + 5, a.raw ?? 0, 6);
    });
    d[362] = 0x82; // off-line collection completed, auto-offline enabled
    d[363] = this.selfTestStatus();
    le(d, 364, 600, 2);
    d[367] = 0x7b; // execute off-line immediate, abort, auto, self-test, conveyance, selective
    le(d, 368, 0x0003, 2);
    d[370] = 0x01;
    const ms = this.#durations();
    d[372] = Math.ceil(ms.short / 60_000);
    const extendedMinutes = Math.ceil(ms.extended / 60_000);
    d[373] = Math.min(extendedMinutes, 0xff);
    le(d, 375, extendedMinutes, 2);
    d[374] = Math.ceil(ms.conveyance / 60_000);
    return seal(d);
  }

  /** SMART READ THRESHOLDS. */
  smartThresholds(): Uint8Array {
    const d = new Uint8Array(512);
    le(d, 0, 0x0010, 2);
    this.attributes.slice(0, 30).forEach((a, i) => {
      d[2 + i * 12] = a.id;
      d[3 + i * 12] = a.threshold ?? 0;
    });
    return seal(d);
  }

  /** True when a pre-failure attribute is at or below its non-zero threshold (SMART RETURN STATUS). */
  thresholdExceeded(): boolean {
    return this.attributes.some((a) => ((a.flags ?? 0x0003) & 1) !== 0 && (a.threshold ?? 0) !== 0 && a.value <= (a.threshold ?? 0));
  }

  /** ATA Information VPD page (89h, SAT-4 §12.4.2) this SATL would return. */
  ataInformationVpd(): Uint8Array {
    const d = new Uint8Array(572);
    d[1] = 0x89;
    d[2] = 0x02;
    d[3] = 0x38; // page length 568
    const put = (at: number, len: number, text: string): void => {
      for (let i = 0; i < len; i++) d[at + i] = i < text.length ? text.charCodeAt(i) : 0x20;
    };
    put(8, 8, 'USBMS');
    put(16, 16, 'SIM SATL');
    put(32, 4, '1.0');
    // Signature: Register D2H FIS, status 50h, COUNT 1, LBA 000001h (an ATA device).
    d.set([0x34, 0x00, 0x50, 0x01, 0x01, 0x00, 0x00, 0x00], 36);
    d[48] = 0x01;
    d[56] = 0xec;
    d.set(this.identifyData(), 60);
    return d;
  }

  #durations(): { short: number; extended: number; conveyance: number } {
    const o = this.#options.selfTestMs ?? {};
    return { short: o.short ?? 120_000, extended: o.extended ?? 3_600_000, conveyance: o.conveyance ?? 300_000 };
  }

  /** Finishes a self-test whose time has come. */
  #advance(): void {
    const running = this.#running;
    if (running === undefined) return;
    const elapsed = this.#now() - running.started;
    const failure = this.#options.selfTestFailure;
    if (failure !== undefined && elapsed >= failure.atFraction * running.duration) {
      this.#finish(running.subcommand, 0x70 | Math.min(9, Math.ceil((1 - failure.atFraction) * 10)), failure.lba);
      return;
    }
    if (elapsed >= running.duration) this.#finish(running.subcommand, 0x00);
  }

  #finish(subcommand: number, status: number, failingLba?: number): void {
    this.#running = undefined;
    this.#lastStatus = status;
    const record: SelfTestRecord = { subcommand, status, lifetimeHours: this.#options.powerOnHours ?? 1234 };
    if (failingLba !== undefined) record.failingLba = failingLba;
    this.#selfTests.push(record);
  }

  #modeSelect(cdb: Uint8Array, data: Uint8Array, ten: boolean): SimVendorResult {
    // MODE SELECT (SPC-4 §6.11/§6.12): header, block descriptors, then pages; only the control mode page
    // (0Ah, SPC-4 §7.5.8) is changeable here, and only its D_SENSE bit (byte 2 bit 2).
    const headerLength = ten ? 8 : 4;
    if (((cdb[1] ?? 0) & 0x10) === 0) return this.#senseOnly({ key: 0x05, asc: 0x24, ascq: 0x00, fieldPointer: { inCdb: true, byte: 1, bit: 4 } });
    if (data.length < headerLength) return this.#senseOnly({ key: 0x05, asc: 0x1a, ascq: 0x00 }); // PARAMETER LIST LENGTH ERROR
    const blockDescriptors = ten ? ((data[6] ?? 0) << 8) | (data[7] ?? 0) : (data[3] ?? 0);
    let at = headerLength + blockDescriptors;
    while (at + 2 <= data.length) {
      const page = (data[at] ?? 0) & 0x3f;
      const length = data[at + 1] ?? 0;
      if (page !== 0x0a || length < 10 || at + 2 + length > data.length) {
        return this.#senseOnly({ key: 0x05, asc: 0x26, ascq: 0x00, fieldPointer: { inCdb: false, byte: at } });
      }
      this.descriptorSense = ((data[at + 2] ?? 0) & 0x04) !== 0;
      at += 2 + length;
    }
    return { status: 'good' };
  }

  #senseOnly(sense: SimSense): SimVendorResult {
    return { status: 'check-condition', sense };
  }

  #passThrough(cdb: Uint8Array, dataOut: Uint8Array): SimVendorResult {
    const twelve = cdb[0] === 0xa1;
    if (!twelve && this.faults.only12ByteCdb === true) return this.#senseOnly({ key: 0x05, asc: 0x20, ascq: 0x00 });
    if (cdb.length < (twelve ? 12 : 16)) return this.#senseOnly({ key: 0x05, asc: 0x24, ascq: 0x00, fieldPointer: { inCdb: true, byte: 0 } });
    const b = (i: number): number => cdb[i] ?? 0;
    const protocol = (b(1) >> 1) & 0x0f;
    const ckCond = (b(2) & 0x20) !== 0;
    const tDirIn = (b(2) & 0x08) !== 0;
    const tLength = b(2) & 0x03;
    const extend = !twelve && (b(1) & 1) === 1;
    const features = twelve ? b(3) : extend ? (b(3) << 8) | b(4) : b(4);
    const count = twelve ? b(4) : extend ? (b(5) << 8) | b(6) : b(6);
    const lba = twelve
      ? b(5) + b(6) * 256 + b(7) * 65536
      : b(8) + b(10) * 256 + b(12) * 65536 + (extend ? (b(7) + b(9) * 256 + b(11) * 65536) * 0x100_0000 : 0);
    const device = twelve ? b(8) : b(13);
    const command = twelve ? b(9) : b(14);
    this.log.push({ command, features, count, lba, cdbSize: twelve ? 12 : 16 });
    this.#advance();

    const dataIn = (bytes: Uint8Array): SimVendorResult => {
      // SAT-4 §12.2.2.1: a data-in command needs a data-in protocol, T_DIR = 1 and a transfer length field.
      if (![0x4, 0x6, 0xa].includes(protocol) || !tDirIn || tLength === 0) {
        return this.#senseOnly({ key: 0x05, asc: 0x24, ascq: 0x00, fieldPointer: { inCdb: true, byte: 1 } });
      }
      return this.#complete(ckCond, { error: 0, status: ATA_STATUS_OK, device, count, lba }, bytes);
    };
    const nonData = (registers: Partial<Registers> = {}): SimVendorResult => {
      if (protocol !== 0x3 || tLength !== 0) return this.#senseOnly({ key: 0x05, asc: 0x24, ascq: 0x00, fieldPointer: { inCdb: true, byte: 1 } });
      return this.#complete(ckCond, { error: 0, status: ATA_STATUS_OK, device, count, lba, ...registers }, undefined);
    };
    const abort = (): SimVendorResult => this.#abort({ error: ATA_ERROR_ABORT, status: ATA_STATUS_ERR, device, count, lba });
    void dataOut;

    switch (command) {
      case 0xec:
        return dataIn(this.identifyData());
      case 0xe5:
        return nonData({ count: 0xff });
      case 0x2f:
      case 0x47: {
        if (this.#options.readLogExt === false || !extend) return abort();
        const address = lba % 256;
        const page = Math.floor(lba / 256) % 256;
        const log = this.#gpLog(address, page, count);
        return log === undefined ? abort() : dataIn(log);
      }
      case 0xb0: {
        // SMART: LBA mid/high must hold the key 4Fh/C2h (ACS-3 §7.48.1).
        if (((lba >> 8) & 0xffff) !== 0xc24f) return abort();
        if (!this.#smartEnabled && features !== 0xd8) return abort();
        switch (features) {
          case 0xd0:
            return dataIn(this.smartData());
          case 0xd1:
            return dataIn(this.smartThresholds());
          case 0xd5: {
            const log = this.#smartLog(lba & 0xff, count);
            return log === undefined ? abort() : dataIn(log);
          }
          case 0xd4:
            return this.#executeOffline(lba & 0xff, nonData, abort);
          case 0xd8:
            this.#smartEnabled = true;
            return nonData();
          case 0xd9:
            this.#smartEnabled = false;
            return nonData();
          case 0xda:
            return nonData({ lba: this.thresholdExceeded() ? 0x2c_f400 | (lba & 0xff) : 0xc2_4f00 | (lba & 0xff) });
          default:
            return abort();
        }
      }
      default:
        return abort();
    }
  }

  #executeOffline(subcommand: number, nonData: () => SimVendorResult, abort: () => SimVendorResult): SimVendorResult {
    const ms = this.#durations();
    const start = (duration: number): SimVendorResult => {
      if (this.#running !== undefined) return abort();
      this.#running = { subcommand, started: this.#now(), duration };
      return nonData();
    };
    switch (subcommand) {
      case 0x00:
        return nonData();
      case 0x01:
        return start(ms.short);
      case 0x02:
        return start(ms.extended);
      case 0x03:
        return start(ms.conveyance);
      case 0x7f: {
        const running = this.#running;
        if (running !== undefined) this.#finish(running.subcommand, 0x10); // aborted by host
        return nonData();
      }
      case 0x81:
      case 0x82:
      case 0x83:
        // Captive: the command returns when the test is done.
        this.#finish(subcommand, 0x00);
        return nonData();
      default:
        return abort();
    }
  }

  #selfTestLog(): Uint8Array {
    // SMART self-test log (log 06h): 21 descriptors of 24 bytes from byte 2, index of the latest at 508.
    const d = new Uint8Array(512);
    le(d, 0, 0x0001, 2);
    const records = this.#selfTests.slice(-21);
    records.forEach((r, i) => {
      const o = 2 + i * 24;
      d[o] = r.subcommand;
      d[o + 1] = r.status;
      le(d, o + 2, r.lifetimeHours, 2);
      le(d, o + 5, r.failingLba ?? 0xffff_ffff, 4);
    });
    d[508] = records.length;
    return seal(d);
  }

  #extendedSelfTestLog(): Uint8Array {
    // Extended self-test log (log 07h): 19 descriptors of 26 bytes from byte 4, index of the latest in word 1.
    const d = new Uint8Array(512);
    d[0] = 0x01;
    const records = this.#selfTests.slice(-19);
    records.forEach((r, i) => {
      const o = 4 + i * 26;
      d[o] = r.subcommand;
      d[o + 1] = r.status;
      le(d, o + 2, r.lifetimeHours, 2);
      le(d, o + 5, r.failingLba ?? 0xffff_ffff_ffff, 6);
    });
    le(d, 2, records.length, 2);
    return seal(d);
  }

  #errorLog(): Uint8Array {
    // Summary SMART error log (log 01h): version, index of the latest of 5 structures of 90 bytes, error count.
    const d = new Uint8Array(512);
    d[0] = 0x01;
    const errors = this.#options.errors ?? [];
    const kept = errors.slice(-5);
    kept.forEach((e, i) => {
      const o = 2 + i * 90;
      // One command data structure (the failing command), then the error data structure at +60.
      d[o + 7] = e.command;
      d[o + 6] = 0x40;
      le(d, o + 3, e.lba % 0x100_0000, 3);
      const x = o + 60;
      d[x + 1] = e.error;
      d[x + 2] = 1;
      le(d, x + 3, e.lba % 0x100_0000, 3);
      d[x + 6] = 0x40;
      d[x + 7] = e.status;
      d[x + 27] = 0x03;
      le(d, x + 28, e.lifetimeHours, 2);
    });
    d[1] = kept.length;
    le(d, 452, errors.length, 2);
    return seal(d);
  }

  #directory(gp: boolean): Uint8Array {
    const d = new Uint8Array(512);
    le(d, 0, 0x0001, 2);
    const logs = gp ? [0x07] : [0x01, 0x06];
    for (const address of logs) le(d, address * 2, 1, 2);
    return d;
  }

  #smartLog(address: number, count: number): Uint8Array | undefined {
    if (count !== 1) return undefined;
    if (address === 0x00) return this.#directory(false);
    if (address === 0x01) return this.#errorLog();
    if (address === 0x06) return this.#selfTestLog();
    return undefined;
  }

  #gpLog(address: number, page: number, count: number): Uint8Array | undefined {
    if (count !== 1 || page !== 0) return undefined;
    if (address === 0x00) return this.#directory(true);
    if (address === 0x07) return this.#extendedSelfTestLog();
    return undefined;
  }

  #abort(registers: Registers): SimVendorResult {
    // SAT-4 §12.2.2.5 / table 17: an ATA error (ERR set, ABRT) is ABORTED COMMAND, 00/00, with the registers.
    return { status: 'check-condition', sense: this.#ataSense(0x0b, 0x00, 0x00, registers) };
  }

  #complete(ckCond: boolean, registers: Registers, data: Uint8Array | undefined): SimVendorResult {
    if (!ckCond || this.faults.ignoresCheckCondition === true) return data === undefined ? { status: 'good' } : { status: 'good', data };
    // CK_COND = 1: CHECK CONDITION, RECOVERED ERROR, 00/1D ATA PASS-THROUGH INFORMATION AVAILABLE.
    const result: SimVendorResult = { status: 'check-condition', sense: this.#ataSense(0x01, 0x00, 0x1d, registers) };
    if (data !== undefined) result.data = data;
    return result;
  }

  #ataSense(key: number, asc: number, ascq: number, r: Registers): SimSense {
    const descriptor = this.descriptorSense && this.faults.fixedSenseOnly !== true;
    const byte = (v: number, n: number): number => Math.floor(v / 2 ** (8 * n)) & 0xff;
    const extend = r.count > 0xff || r.lba > 0xff_ffff;
    if (descriptor) {
      // Descriptor format + ATA Status Return descriptor (SAT-4 §12.2.2.6, table 200).
      const raw = new Uint8Array(8 + 14);
      raw.set([0x72, key, asc, ascq, 0, 0, 0, 14]);
      raw.set(
        [
          0x09,
          0x0c,
          extend ? 1 : 0,
          r.error,
          byte(r.count, 1),
          byte(r.count, 0),
          byte(r.lba, 3),
          byte(r.lba, 0),
          byte(r.lba, 4),
          byte(r.lba, 1),
          byte(r.lba, 5),
          byte(r.lba, 2),
          r.device,
          r.status,
        ],
        8,
      );
      return { key, asc, ascq, raw };
    }
    // Fixed format (SAT-4 §12.2.2.7, table 202): VALID, INFORMATION = ERROR STATUS DEVICE COUNT(7:0),
    // COMMAND-SPECIFIC = flags, LBA(7:0) LBA(15:8) LBA(23:16).
    const raw = new Uint8Array(18);
    raw[0] = 0xf0;
    raw[2] = key;
    raw.set([r.error, r.status, r.device, byte(r.count, 0)], 3);
    raw[7] = 10;
    raw[8] = (extend ? 0x80 : 0) | (r.count > 0xff ? 0x40 : 0) | (r.lba > 0xff_ffff ? 0x20 : 0);
    raw.set([byte(r.lba, 0), byte(r.lba, 1), byte(r.lba, 2)], 9);
    raw[12] = asc;
    raw[13] = ascq;
    return { key, asc, ascq, raw };
  }
}
