/**
 * A simulated NVMe drive for the USB-to-NVMe bridge emulations: it answers the
 * two admin reads a bridge carries (Identify, Get Log Page) with bytes it lays
 * out itself at the NVMe Base 2.0 offsets (written apart from the host's
 * decoders, so a decoder bug cannot hide behind a matching encoder bug).
 */

export interface SimNvmeDriveOptions {
  model?: string;
  serial?: string;
  firmware?: string;
  /** PCI vendor and subsystem vendor IDs. */
  pciVendorId?: number;
  pciSubsystemVendorId?: number;
  /** 24-bit IEEE OUI. */
  ieeeOui?: number;
  /** Namespace 1 size in logical blocks, and the block size (512 or 4096). */
  blocks?: number;
  blockSize?: 512 | 4096;
  /** Error Log Page Entries (ELPE + 1). */
  errorLogEntries?: number;
  /** SMART / Health values. */
  criticalWarning?: number;
  temperatureK?: number;
  availableSpare?: number;
  availableSpareThreshold?: number;
  percentageUsed?: number;
  dataUnitsRead?: number;
  dataUnitsWritten?: number;
  hostReadCommands?: number;
  hostWriteCommands?: number;
  controllerBusyTime?: number;
  powerCycles?: number;
  powerOnHours?: number;
  unsafeShutdowns?: number;
  mediaErrors?: number;
  /** Logged errors (each becomes an Error Information log entry, newest first). */
  errors?: Array<{ statusField: number; commandId: number; lba?: number }>;
  temperatureSensorsK?: number[];
  warningTemperatureK?: number;
  criticalTemperatureK?: number;
}

/** What one admin command returned: data, and the completion status (0 = success). */
export interface SimNvmeCompletion {
  data: Uint8Array;
  status: number;
  result: number;
}

const text = (target: Uint8Array, offset: number, length: number, value: string): void => {
  for (let i = 0; i < length; i++) target[offset + i] = i < value.length ? value.charCodeAt(i) & 0x7f : 0x20;
};
const le = (target: Uint8Array, offset: number, size: number, value: number | bigint): void => {
  let v = BigInt(value);
  for (let i = 0; i < size; i++) {
    target[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
};

/** Status Field values (NVMe Base 2.0 figure 94/95): SCT << 8 | SC. */
export const SimNvmeStatus = {
  InvalidOpcode: 0x001,
  InvalidField: 0x002,
  InvalidNamespace: 0x00b,
  InvalidLogPage: 0x109,
} as const;

/** A simulated NVMe controller with one namespace, answering Identify and Get Log Page. */
export class SimNvmeDrive {
  readonly options: Required<Omit<SimNvmeDriveOptions, 'errors' | 'temperatureSensorsK'>> & Pick<SimNvmeDriveOptions, 'errors' | 'temperatureSensorsK'>;
  /** Every admin command the drive executed: opcode, NSID, CDW10-15. */
  readonly log: Array<{ opcode: number; nsid: number; cdw: number[] }> = [];

  constructor(options: SimNvmeDriveOptions = {}) {
    this.options = {
      model: 'USBMS Sim NVMe SSD',
      serial: 'SIMNVME0001',
      firmware: '1.0.0',
      pciVendorId: 0x1e4b,
      pciSubsystemVendorId: 0x1e4b,
      ieeeOui: 0x00_25_38,
      blocks: 1_000_215_216,
      blockSize: 512,
      errorLogEntries: 8,
      criticalWarning: 0,
      temperatureK: 309,
      availableSpare: 100,
      availableSpareThreshold: 10,
      percentageUsed: 3,
      dataUnitsRead: 12_345_678,
      dataUnitsWritten: 9_876_543,
      hostReadCommands: 222_333_444,
      hostWriteCommands: 111_222_333,
      controllerBusyTime: 456,
      powerCycles: 321,
      powerOnHours: 1234,
      unsafeShutdowns: 17,
      mediaErrors: 0,
      warningTemperatureK: 358,
      criticalTemperatureK: 368,
      ...options,
    };
  }

  /** The 4096-byte Identify Controller data. */
  identifyController(): Uint8Array {
    const o = this.options;
    const d = new Uint8Array(4096);
    le(d, 0, 2, o.pciVendorId);
    le(d, 2, 2, o.pciSubsystemVendorId);
    text(d, 4, 20, o.serial);
    text(d, 24, 40, o.model);
    text(d, 64, 8, o.firmware);
    d[72] = 2; // RAB
    le(d, 73, 3, o.ieeeOui);
    d[77] = 9; // MDTS: 2^9 pages
    le(d, 78, 2, 1); // CNTLID
    le(d, 80, 4, 0x0001_0400); // VER 1.4.0
    le(d, 256, 2, 0x0017); // OACS: Security, Format, Firmware Download, Device Self-test
    d[260] = 0x16; // FRMW: 3 slots, no reset required
    d[261] = 0x0e; // LPA: command effects, extended data / offset, telemetry
    d[262] = o.errorLogEntries - 1; // ELPE, 0's based
    d[263] = 2; // NPSS: 3 power states
    le(d, 266, 2, o.warningTemperatureK);
    le(d, 268, 2, o.criticalTemperatureK);
    le(d, 280, 16, BigInt(o.blocks) * BigInt(o.blockSize)); // TNVMCAP
    le(d, 316, 2, 30); // EDSTT minutes
    d[512] = 0x66; // SQES
    d[513] = 0x44; // CQES
    le(d, 516, 4, 1); // NN
    le(d, 520, 2, 0x005f); // ONCS
    d[525] = 0x07; // VWC present
    // Power state descriptors 0-2: MP in centiwatts, ENLAT, EXLAT.
    const states: Array<[number, number, number, number]> = [
      [900, 0, 0, 0],
      [460, 0, 0, 0],
      [5, 0x02, 2000, 2000],
    ];
    states.forEach(([mp, flags, enlat, exlat], i) => {
      le(d, 2048 + i * 32, 2, mp);
      d[2048 + i * 32 + 3] = flags;
      le(d, 2048 + i * 32 + 4, 4, enlat);
      le(d, 2048 + i * 32 + 8, 4, exlat);
    });
    return d;
  }

  /** The 4096-byte Identify Namespace data of namespace 1. */
  identifyNamespace(): Uint8Array {
    const o = this.options;
    const d = new Uint8Array(4096);
    le(d, 0, 8, o.blocks);
    le(d, 8, 8, o.blocks);
    le(d, 16, 8, o.blocks);
    d[25] = 1; // NLBAF: 2 formats
    d[26] = o.blockSize === 4096 ? 1 : 0; // FLBAS
    le(d, 120, 8, 0x0025_3858_1234_5678n); // EUI64
    d[128 + 2] = 9; // LBAF0: 512 bytes, RP 2
    d[128 + 3] = 2;
    d[132 + 2] = 12; // LBAF1: 4096 bytes, RP 0
    return d;
  }

  /** The 512-byte SMART / Health Information log. */
  smartLog(): Uint8Array {
    const o = this.options;
    const d = new Uint8Array(512);
    d[0] = o.criticalWarning;
    le(d, 1, 2, o.temperatureK);
    d[3] = o.availableSpare;
    d[4] = o.availableSpareThreshold;
    d[5] = o.percentageUsed;
    const counters = [
      o.dataUnitsRead,
      o.dataUnitsWritten,
      o.hostReadCommands,
      o.hostWriteCommands,
      o.controllerBusyTime,
      o.powerCycles,
      o.powerOnHours,
      o.unsafeShutdowns,
      o.mediaErrors,
      o.errors?.length ?? 0,
    ];
    for (const [i, v] of counters.entries()) le(d, 32 + i * 16, 16, v);
    for (const [i, k] of (o.temperatureSensorsK ?? [o.temperatureK, o.temperatureK + 6]).slice(0, 8).entries()) le(d, 200 + i * 2, 2, k);
    return d;
  }

  /** The Error Information log, ELPE + 1 entries of 64 bytes. */
  errorLog(): Uint8Array {
    const d = new Uint8Array(this.options.errorLogEntries * 64);
    const errors = this.options.errors ?? [];
    errors.slice(0, this.options.errorLogEntries).forEach((e, i) => {
      const at = i * 64;
      le(d, at, 8, errors.length - i); // newest has the highest count
      le(d, at + 8, 2, 0); // admin queue
      le(d, at + 10, 2, e.commandId);
      le(d, at + 12, 2, e.statusField << 1);
      le(d, at + 14, 2, 0xffff);
      le(d, at + 16, 8, e.lba === undefined ? 0xffff_ffff_ffff_ffffn : BigInt(e.lba));
      le(d, at + 24, 4, 1);
    });
    return d;
  }

  /** Executes one admin command as the controller would; `length` is the host's buffer size. */
  admin(opcode: number, nsid: number, cdw: number[], length: number): SimNvmeCompletion {
    this.log.push({ opcode, nsid, cdw: [...cdw] });
    const ok = (full: Uint8Array): SimNvmeCompletion => {
      const data = new Uint8Array(length);
      data.set(full.subarray(0, length));
      return { data, status: 0, result: 0 };
    };
    const fail = (status: number): SimNvmeCompletion => ({ data: new Uint8Array(0), status, result: 0 });
    const cdw10 = cdw[0] ?? 0;
    if (opcode === 0x06) {
      const cns = cdw10 & 0xff;
      if (cns === 0x01) return ok(this.identifyController());
      if (cns === 0x00)
        return nsid === 1 ? ok(this.identifyNamespace()) : nsid === 0 || nsid === 0xffff_ffff ? fail(SimNvmeStatus.InvalidNamespace) : ok(new Uint8Array(4096));
      return fail(SimNvmeStatus.InvalidField);
    }
    if (opcode === 0x02) {
      const lid = cdw10 & 0xff;
      const numd = ((cdw10 >>> 16) | (((cdw[1] ?? 0) & 0xffff) << 16)) + 1;
      const offset = (cdw[2] ?? 0) + (cdw[3] ?? 0) * 0x1_0000_0000;
      const page = lid === 0x02 ? this.smartLog() : lid === 0x01 ? this.errorLog() : undefined;
      if (page === undefined) return fail(SimNvmeStatus.InvalidLogPage);
      // Bytes past the end of a log page read as zero (NVMe Base 2.0 §5.16).
      const out = new Uint8Array(Math.min(numd * 4, length));
      out.set(page.subarray(Math.min(offset, page.length), Math.min(offset + out.length, page.length)));
      return ok(out);
    }
    return fail(SimNvmeStatus.InvalidOpcode);
  }
}
