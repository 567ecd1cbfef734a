/**
 * Emulations of three USB-to-SATA bridges that do not speak SAT, for the
 * simulator's vendor hook, in front of a `SimAtaDrive`:
 *
 * - JMicron (152d:2338): DFh pass-through with no return registers; SMART
 *   RETURN STATUS answers one byte (C2h / 2Ch); register 720Fh says which port
 *   has the drive; a DEVICE byte naming the empty port, or a 48-bit command, is refused.
 * - Cypress CY7C68300 (04b4:6830): ATACB (signature 24h, subcommand 24h); the
 *   register read (TaskFileRead) returns the registers of the last ATA command,
 *   whatever ran in between (the race smartctl warns about).
 * - Sunplus SPIF215 (04fc:0c15): F8h 22h pass-through, 23h 48-bit preset,
 *   21h status; an ATA error ends the command with MEDIUM ERROR (03/00/00).
 *
 * Each bridge talks to the drive the way its firmware talks to the SATA port:
 * here, by handing the drive an ATA PASS-THROUGH(16) with CK_COND = 1 built from
 * the taskfile and reading the registers back from the sense bytes (parsed here,
 * not by the host's decoders).
 */
import type { SimulatedDeviceOptions } from './device.js';
import { SimAtaDrive, type SimAtaDriveOptions } from './sat-target.js';
import type { SimVendorContext, SimVendorHook, SimVendorResult } from './scsi-plan.js';
import { Sense } from './sense.js';

export type SimAtaBridgeKind = 'jmicron' | 'cypress' | 'sunplus';

interface Registers {
  error: number;
  status: number;
  device: number;
  count: number;
  lba: number;
}

interface AtaOutcome {
  ok: boolean;
  data: Uint8Array;
  registers: Registers;
}

/** Runs one ATA command on the drive (as a SATA port would) and returns data and registers. */
async function ataCommand(
  drive: SimAtaDrive,
  t: { command: number; features: number; count: number; lba: number; device: number; extend: boolean },
  direction: 'in' | 'out' | 'none',
  bytes: number,
  dataOut: Uint8Array,
  context: SimVendorContext,
): Promise<AtaOutcome> {
  const cdb = new Uint8Array(16);
  const protocol = direction === 'in' ? 4 : direction === 'out' ? 5 : 3;
  cdb[0] = 0x85;
  cdb[1] = (protocol << 1) | (t.extend ? 1 : 0);
  // CK_COND, and for data: T_DIR, BYT_BLOK, T_LENGTH = COUNT.
  cdb[2] = 0x20 | (direction === 'none' ? 0 : (direction === 'in' ? 0x08 : 0) | 0x04 | 0x02);
  cdb[3] = (t.features >> 8) & 0xff;
  cdb[4] = t.features & 0xff;
  cdb[5] = (t.count >> 8) & 0xff;
  cdb[6] = t.count & 0xff;
  const byte = (n: number): number => Math.floor(t.lba / 2 ** (8 * n)) & 0xff;
  [cdb[7], cdb[8], cdb[9], cdb[10], cdb[11], cdb[12]] = [byte(3), byte(0), byte(4), byte(1), byte(5), byte(2)];
  cdb[13] = t.device;
  cdb[14] = t.command;
  const r = await drive.hook(cdb, dataOut, 0, { ...context, hostDirection: direction, hostLength: bytes });
  const data = r?.data ?? new Uint8Array(0);
  const raw = r?.sense?.raw;
  const registers: Registers = { error: 0, status: 0x50, device: t.device, count: t.count, lba: t.lba };
  if (raw !== undefined && raw.length >= 8) {
    if ((raw[0] ?? 0) === 0x72 && raw.length >= 22 && raw[8] === 0x09) {
      const d = (i: number): number => raw[8 + i] ?? 0;
      Object.assign(registers, { error: d(3), count: d(5), lba: d(7) + d(9) * 256 + d(11) * 65536, device: d(12), status: d(13) });
    } else if (raw.length >= 12) {
      const f = (i: number): number => raw[i] ?? 0;
      Object.assign(registers, { error: f(3), status: f(4), device: f(5), count: f(6), lba: f(9) + f(10) * 256 + f(11) * 65536 });
    }
  }
  const ok =
    r !== undefined && (registers.status & 0x21) === 0 && (r.status === 'good' || (r.sense?.key === 0x01 && r.sense.asc === 0 && r.sense.ascq === 0x1d));
  return { ok, data, registers };
}

const invalidField = (byte: number): SimVendorResult => ({ status: 'check-condition', sense: Sense.invalidFieldInCdb(byte) });
const abortedCommand = (): SimVendorResult => ({ status: 'check-condition', sense: { key: 0x0b, asc: 0x00, ascq: 0x00 } });

/** JMicron DFh. `port`: where the drive is (register 720Fh reports it). */
export function jmicronAtaHook(drive: SimAtaDrive, port: 0 | 1 = 0): SimVendorHook {
  return async (cdb, dataOut, _lun, context) => {
    if (cdb[0] !== 0xdf || cdb.length < 12) return undefined;
    const b = (i: number): number => cdb[i] ?? 0;
    const length = (b(3) << 8) | b(4);
    if (b(11) === 0xfd) {
      // Register read: address in bytes 6-7.
      const address = (b(6) << 8) | b(7);
      const out = new Uint8Array(length);
      if (address === 0x720f && length >= 1) out[0] = port === 0 ? 0x04 : 0x40;
      return { status: 'good', data: out };
    }
    if ((b(10) & 0xf0) !== (port === 0 ? 0xa0 : 0xb0)) return invalidField(10);
    const command = b(11);
    const features = b(5);
    const t = { command, features, count: b(6), lba: b(7) | (b(8) << 8) | (b(9) << 16), device: b(10) & 0x0f, extend: false };
    if (command === 0xb0 && features === 0xda) {
      const r = await ataCommand(drive, t, 'none', 0, dataOut, context);
      if (!r.ok) return abortedCommand();
      const key = (r.registers.lba >> 8) & 0xffff;
      return { status: 'good', data: Uint8Array.of(key === 0x2cf4 ? 0x2c : 0xc2).subarray(0, length) };
    }
    const direction = length === 0 ? 'none' : (b(1) & 0x10) !== 0 ? 'in' : 'out';
    const r = await ataCommand(drive, t, direction, length, dataOut, context);
    if (!r.ok) return abortedCommand();
    return direction === 'in' ? { status: 'good', data: r.data.subarray(0, length) } : { status: 'good' };
  };
}

/** Cypress ATACB with `signature` (default 24h). */
export function cypressAtaHook(drive: SimAtaDrive, signature = 0x24): SimVendorHook {
  let last: Registers = { error: 0, status: 0x50, device: 0, count: 0, lba: 0 };
  return async (cdb, dataOut, _lun, context) => {
    if (cdb[0] !== signature || cdb[1] !== 0x24 || cdb.length < 16) return undefined;
    const b = (i: number): number => cdb[i] ?? 0;
    if ((b(2) & 0x01) !== 0) {
      // TaskFileRead: 8 bytes, alternate status, error, count, LBA low/mid/high, device, status.
      return {
        status: 'good',
        data: Uint8Array.of(
          last.status,
          last.error,
          last.count,
          last.lba & 0xff,
          (last.lba >> 8) & 0xff,
          (last.lba >> 16) & 0xff,
          last.device,
          last.status,
        ).subarray(0, context.hostLength),
      };
    }
    const t = { command: b(12), features: b(6), count: b(7), lba: b(8) | (b(9) << 8) | (b(10) << 16), device: 0x40, extend: false };
    const direction = context.hostLength === 0 ? 'none' : context.hostDirection === 'out' ? 'out' : 'in';
    const r = await ataCommand(drive, t, direction, context.hostLength, dataOut, context);
    last = r.registers;
    if (!r.ok) return abortedCommand();
    return direction === 'in' ? { status: 'good', data: r.data.subarray(0, context.hostLength) } : { status: 'good' };
  };
}

/** Sunplus F8h. */
export function sunplusAtaHook(drive: SimAtaDrive): SimVendorHook {
  let last: Registers = { error: 0, status: 0x50, device: 0, count: 0, lba: 0 };
  let preset: { features: number; count: number; lba: number } | undefined;
  return async (cdb, dataOut, _lun, context) => {
    if (cdb[0] !== 0xf8 || cdb.length < 12) return undefined;
    const b = (i: number): number => cdb[i] ?? 0;
    switch (b(2)) {
      case 0x21:
        return {
          status: 'good',
          data: Uint8Array.of(
            0,
            last.error,
            last.count & 0xff,
            last.lba & 0xff,
            (last.lba >> 8) & 0xff,
            (last.lba >> 16) & 0xff,
            last.device,
            last.status,
          ).subarray(0, context.hostLength),
        };
      case 0x23:
        preset = { features: b(5), count: b(6), lba: b(7) + b(8) * 256 + b(9) * 65536 };
        return { status: 'good' };
      case 0x22: {
        const direction = b(3) === 0x10 ? 'in' : b(3) === 0x11 ? 'out' : b(3) === 0x00 ? 'none' : undefined;
        if (direction === undefined) return invalidField(3);
        const bytes = b(4) * 512;
        const p = preset;
        preset = undefined;
        const low = b(7) | (b(8) << 8) | (b(9) << 16);
        const t = {
          command: b(11),
          features: (p ? p.features << 8 : 0) | b(5),
          count: (p ? p.count << 8 : 0) | b(6),
          lba: low + (p ? p.lba * 0x100_0000 : 0),
          device: b(10) & 0x4f,
          extend: p !== undefined,
        };
        const r = await ataCommand(drive, t, direction, bytes, dataOut, context);
        last = r.registers;
        if (!r.ok) return { status: 'check-condition', sense: { key: 0x03, asc: 0x00, ascq: 0x00 } };
        return direction === 'in' ? { status: 'good', data: r.data.subarray(0, bytes) } : { status: 'good' };
      }
      default:
        return invalidField(2);
    }
  };
}

/** USB identities of the emulated SATA bridges. */
export const SIM_ATA_BRIDGE_IDS: Record<SimAtaBridgeKind, { vendorId: number; productId: number; vendor: string; product: string }> = {
  jmicron: { vendorId: 0x152d, productId: 0x2338, vendor: 'JMicron', product: 'USB to ATA/ATAPI' },
  cypress: { vendorId: 0x04b4, productId: 0x6830, vendor: 'Cypress', product: 'USB2.0 Storage' },
  sunplus: { vendorId: 0x04fc, productId: 0x0c15, vendor: 'SunPlus', product: 'SPIF215' },
};

/** Options for a `SimulatedDevice` that is a SATA enclosure of the given kind with `drive` inside. */
export function simAtaBridge(kind: SimAtaBridgeKind, drive: SimAtaDrive | SimAtaDriveOptions = {}): { options: SimulatedDeviceOptions; drive: SimAtaDrive } {
  const ata = drive instanceof SimAtaDrive ? drive : new SimAtaDrive(drive);
  const id = SIM_ATA_BRIDGE_IDS[kind];
  const hook = kind === 'jmicron' ? jmicronAtaHook(ata) : kind === 'cypress' ? cypressAtaHook(ata) : sunplusAtaHook(ata);
  return {
    drive: ata,
    options: {
      info: { vendorId: id.vendorId, productId: id.productId },
      luns: [{ vendor: id.vendor, product: id.product, blocks: Math.min(ata.sectors, 1 << 21), removable: false }],
      vendorCommand: hook,
    },
  };
}
