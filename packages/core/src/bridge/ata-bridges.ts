/**
 * How older USB-to-SATA bridges carry an ATA command in vendor CDBs, for bridges
 * that do not speak SAT (T10 SAT-4). The conventions are the ones the bridges'
 * firmware accepts, as smartmontools documents them in its `scsiata.cpp`
 * (`-d usbjmicron`, `-d usbcypress`, `-d usbsunplus`). Each builder takes the
 * same `AtaCommand` the SAT path sends (sat/commands.ts) and returns the CDBs;
 * the same decoders then read the answer.
 *
 * - **JMicron** (JM20329/JM20336/JM20337/JM20338...): DFh, 12 bytes: the
 *   28-bit taskfile, the device register with the port's master/slave bit, and
 *   the transfer length. No return registers, except that SMART RETURN STATUS
 *   answers one data byte (C2h passed, 2Ch failed). A register read (DFh with
 *   command FDh) at address 720Fh tells which port holds the drive.
 * - **Cypress** CY7C68300 (ATACB): 16 bytes, signature 24h (configurable),
 *   subcommand 24h, a register-select bitmap and the taskfile; a second ATACB
 *   with TaskFileRead set returns 8 register bytes. 28-bit only.
 * - **Sunplus** SPIF215/SPIF225: F8h, 12 bytes, subcommand 22h (pass through)
 *   with the protocol and 512-byte block count; 23h presets the "previous"
 *   (high) bytes of a 48-bit command; 21h returns 8 register bytes.
 */
import { InvalidArgumentError, ParseError, UnsupportedError } from '../errors.js';
import type { AtaCommand, AtaResult } from '../sat/commands.js';
import { AtaCommandCode, AtaProtocol, SmartFeature } from '../sat/pass-through.js';
import type { AtaRegisters } from '../sat/registers.js';
import type { DataDirection } from '../scsi/command.js';
import type { BridgeCdb } from './nvme-bridges.js';

/** The USB-to-SATA bridge conventions usbms speaks besides SAT (smartctl's `-d usbjmicron`, `usbcypress`, `usbsunplus`). */
export type AtaBridgeKind = 'jmicron' | 'cypress' | 'sunplus';

/** Vendor CDB opcodes of the SATA bridges. */
export const AtaBridgeOpcode = { JMicron: 0xdf, CypressDefaultSignature: 0x24, Sunplus: 0xf8 } as const;

/** The 28-bit taskfile of an ATA command, and its data stage. */
interface Taskfile {
  command: number;
  features: number;
  count: number;
  lba: number;
  device: number;
  direction: DataDirection;
  bytes: number;
  extend: boolean;
}

function taskfile(command: AtaCommand<unknown>): Taskfile {
  const p = command.passThrough;
  const direction: DataDirection =
    p.protocol === AtaProtocol.PioDataIn || p.protocol === AtaProtocol.UdmaDataIn || (p.protocol === AtaProtocol.Dma && (p.transferBytes ?? 0) > 0)
      ? 'in'
      : p.protocol === AtaProtocol.PioDataOut || p.protocol === AtaProtocol.UdmaDataOut
        ? 'out'
        : 'none';
  if (p.protocol !== AtaProtocol.NonData && direction === 'none') {
    throw new UnsupportedError(`${command.name}: ATA protocol ${p.protocol} cannot be carried by a vendor bridge (non-data, PIO and DMA only)`);
  }
  const bytes = direction === 'none' ? 0 : (p.transferBytes ?? 0);
  return {
    command: p.command,
    features: p.features ?? 0,
    count: p.count ?? 0,
    lba: p.lba ?? 0,
    device: p.device ?? 0,
    direction,
    bytes,
    extend: p.extend === true,
  };
}

function require28Bit(bridge: string, name: string, t: Taskfile): void {
  if (t.extend || t.features > 0xff || t.count > 0xff || t.lba > 0xff_ffff) {
    throw new UnsupportedError(`${bridge} carries 28-bit ATA commands only; ${name} is a 48-bit command`);
  }
}

const isSmartStatus = (t: Taskfile): boolean => t.command === AtaCommandCode.Smart && t.features === SmartFeature.ReturnStatus;

// ---------------------------------------------------------------------------
// JMicron

/** The register read that says which port (0 = master, 1 = slave) holds the drive. */
export const JMICRON_PORT_REGISTER = 0x720f;

/** JMicron register read: DFh 10h 00h, length, 00h, address (big-endian), 00h 00h 00h, FDh. */
export function jmicronReadRegisterCdb(address: number, length: number): BridgeCdb {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) throw new InvalidArgumentError(`register address must be 0-FFFFh, got ${address}`);
  if (!Number.isInteger(length) || length < 1 || length > 0xffff) throw new InvalidArgumentError(`length must be 1-65535, got ${length}`);
  const cdb = Uint8Array.of(AtaBridgeOpcode.JMicron, 0x10, 0x00, length >> 8, length & 0xff, 0x00, address >> 8, address & 0xff, 0, 0, 0, 0xfd);
  return { name: `JMICRON READ REGISTER 0x${address.toString(16)}`, cdb, direction: 'in', length };
}

/** Decodes register 720Fh: bit 2 = a drive on port 0, bit 6 = a drive on port 1. */
export function decodeJmicronPort(data: Uint8Array): 0 | 1 {
  if (data.length < 1) throw new ParseError('JMicron port register', 'no byte returned');
  switch ((data[0] ?? 0) & 0x44) {
    case 0x04:
      return 0;
    case 0x40:
      return 1;
    case 0x44:
      throw new UnsupportedError('The JMicron bridge has drives on both ports; pass the port explicitly');
    default:
      throw new UnsupportedError('The JMicron bridge reports no drive on either port');
  }
}

/**
 * JMicron ATA pass-through: DFh, byte 1 10h (read or no data) / 00h (write), bytes 3-4 transfer length
 * (big-endian), 5-9 FEATURES, COUNT, LBA low/mid/high, 10 DEVICE | A0h (port 0) or B0h (port 1), 11 COMMAND.
 * SMART RETURN STATUS reads one status byte instead of registers.
 */
export function jmicronAtaCdb(command: AtaCommand<unknown>, port: 0 | 1 = 0): BridgeCdb {
  const t = taskfile(command);
  require28Bit('The JMicron bridge', command.name, t);
  const status = isSmartStatus(t);
  if (command.needsRegisters === true && !status) {
    throw new UnsupportedError(`The JMicron bridge returns no ATA registers, which ${command.name} answers in`);
  }
  const length = status ? 1 : t.bytes;
  if (length > 0xffff) throw new UnsupportedError(`The JMicron bridge moves at most 65535 bytes per command; ${command.name} needs ${length}`);
  const cdb = new Uint8Array(12);
  cdb[0] = AtaBridgeOpcode.JMicron;
  cdb[1] = t.direction === 'out' ? 0x00 : 0x10;
  cdb[3] = length >> 8;
  cdb[4] = length & 0xff;
  cdb[5] = t.features;
  cdb[6] = t.count;
  cdb[7] = t.lba & 0xff;
  cdb[8] = (t.lba >> 8) & 0xff;
  cdb[9] = (t.lba >> 16) & 0xff;
  cdb[10] = (t.device | (port === 0 ? 0xa0 : 0xb0)) & 0xff;
  cdb[11] = t.command;
  const direction: DataDirection = status ? 'in' : t.direction;
  const step: BridgeCdb = { name: `${command.name} (JMicron DFh)`, cdb, direction, length };
  if (direction === 'out' && command.data !== undefined) step.data = command.data;
  return step;
}

/** The SMART RETURN STATUS byte of a JMicron bridge as the registers SAT would return. */
export function jmicronSmartStatusRegisters(data: Uint8Array): AtaRegisters {
  const byte = data[0];
  if (byte === 0xc2) return { error: 0, status: 0x50, device: 0, count: 0, lba: 0xc2_4f00, extend: false, source: 'fixed' };
  if (byte === 0x2c) return { error: 0, status: 0x50, device: 0, count: 0, lba: 0x2c_f400, extend: false, source: 'fixed' };
  throw new ParseError(
    'JMicron SMART status',
    byte === undefined ? 'no status byte returned' : `status byte 0x${byte.toString(16).padStart(2, '0')} is neither C2h nor 2Ch`,
  );
}

// ---------------------------------------------------------------------------
// Cypress

/**
 * Cypress ATACB (CY7C68300): byte 0 signature, 1 subcommand 24h, 2 flags (bit 7 IdentifyPacketDevice for
 * ECh/A1h, bit 0 TaskFileRead), 3 register select BEh (FEATURES, COUNT, LBA low/mid/high, COMMAND), 4 transfer
 * block count 1, 6-10 FEATURES, COUNT, LBA low/mid/high, 12 COMMAND.
 */
export function cypressAtaCdb(command: AtaCommand<unknown>, signature = AtaBridgeOpcode.CypressDefaultSignature as number): BridgeCdb {
  const t = taskfile(command);
  require28Bit('The Cypress bridge', command.name, t);
  return {
    ...cypressCdb(t, signature, false),
    name: `${command.name} (Cypress ATACB)`,
    ...(t.direction === 'out' && command.data ? { data: command.data } : {}),
  };
}

/** The ATACB that reads back the 8 taskfile registers after `command`. */
export function cypressReadRegistersCdb(command: AtaCommand<unknown>, signature = AtaBridgeOpcode.CypressDefaultSignature as number): BridgeCdb {
  return { ...cypressCdb(taskfile(command), signature, true), name: `${command.name} (Cypress ATACB register read)` };
}

function cypressCdb(t: Taskfile, signature: number, readTaskfile: boolean): Omit<BridgeCdb, 'name'> {
  if (!Number.isInteger(signature) || signature < 0 || signature > 0xff) throw new InvalidArgumentError(`Cypress signature must be 0-FFh, got ${signature}`);
  const cdb = new Uint8Array(16);
  cdb[0] = signature;
  cdb[1] = 0x24;
  cdb[2] = readTaskfile ? 0x01 : t.command === AtaCommandCode.IdentifyDevice || t.command === AtaCommandCode.IdentifyPacketDevice ? 0x80 : 0x00;
  cdb[3] = 0xbe;
  cdb[4] = 0x01;
  cdb[6] = t.features;
  cdb[7] = t.count;
  cdb[8] = t.lba & 0xff;
  cdb[9] = (t.lba >> 8) & 0xff;
  cdb[10] = (t.lba >> 16) & 0xff;
  cdb[12] = t.command;
  if (readTaskfile) return { cdb, direction: 'in', length: 8 };
  return { cdb, direction: t.direction, length: t.bytes };
}

/** The 8 register bytes of a Cypress TaskFileRead or a Sunplus Get Status: 1 ERROR, 2 COUNT, 3-5 LBA, 6 DEVICE, 7 STATUS. */
export function decodeBridgeRegisters(what: string, data: Uint8Array): AtaRegisters {
  if (data.length < 8) throw new ParseError(what, `needs 8 register bytes, got ${data.length}`);
  const b = (i: number): number => data[i] ?? 0;
  return { error: b(1), count: b(2), lba: b(3) | (b(4) << 8) | (b(5) << 16), device: b(6), status: b(7), extend: false, source: 'fixed' };
}

// ---------------------------------------------------------------------------
// Sunplus

/** Sunplus: F8h 00h, subcommand (21h status, 22h pass-through, 23h preset). */
const SunplusSubcommand = { GetStatus: 0x21, PassThrough: 0x22, Preset: 0x23 } as const;

/**
 * Sunplus pass-through: for a 48-bit command first 23h with the high bytes (FEATURES 15:8, COUNT 15:8,
 * LBA 31:24, 39:32, 47:40), then 22h with the protocol (00h none, 10h in, 11h out), 512-byte blocks, the low
 * taskfile, DEVICE | A0h and COMMAND.
 */
export function sunplusAtaCdbs(command: AtaCommand<unknown>): BridgeCdb[] {
  const t = taskfile(command);
  if (t.bytes % 512 !== 0 || t.bytes / 512 > 0xff)
    throw new UnsupportedError(`The Sunplus bridge moves 1-255 blocks of 512 bytes; ${command.name} needs ${t.bytes} bytes`);
  const steps: BridgeCdb[] = [];
  const high = Math.floor(t.lba / 0x100_0000);
  if (t.extend) {
    const preset = Uint8Array.of(
      AtaBridgeOpcode.Sunplus,
      0,
      SunplusSubcommand.Preset,
      0,
      0,
      t.features >> 8,
      t.count >> 8,
      high & 0xff,
      (high >> 8) & 0xff,
      (high >> 16) & 0xff,
      0,
      0,
    );
    steps.push({ name: `${command.name} (Sunplus preset)`, cdb: preset, direction: 'none', length: 0 });
  } else {
    require28Bit('The Sunplus bridge', command.name, t);
  }
  const protocol = t.direction === 'in' ? 0x10 : t.direction === 'out' ? 0x11 : 0x00;
  const low = t.lba % 0x100_0000;
  const cdb = Uint8Array.of(
    AtaBridgeOpcode.Sunplus,
    0,
    SunplusSubcommand.PassThrough,
    protocol,
    t.bytes >> 9,
    t.features & 0xff,
    t.count & 0xff,
    low & 0xff,
    (low >> 8) & 0xff,
    (low >> 16) & 0xff,
    (t.device | 0xa0) & 0xff,
    t.command,
  );
  const step: BridgeCdb = { name: `${command.name} (Sunplus F8h)`, cdb, direction: t.direction, length: t.bytes };
  if (t.direction === 'out' && command.data !== undefined) step.data = command.data;
  steps.push(step);
  return steps;
}

/** Sunplus Get Status (F8h 00h 21h): the 8 register bytes of the last command. */
export function sunplusReadRegistersCdb(): BridgeCdb {
  return {
    name: 'SUNPLUS GET STATUS',
    cdb: Uint8Array.of(AtaBridgeOpcode.Sunplus, 0, SunplusSubcommand.GetStatus, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    direction: 'in',
    length: 8,
  };
}

export type { AtaResult };
