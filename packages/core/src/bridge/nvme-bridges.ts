/**
 * How USB-to-NVMe bridges carry an NVMe admin command in SCSI CDBs. None of this
 * is standardised (SCSI has no NVMe pass-through); the conventions are the ones
 * the bridges' firmware accepts, as smartmontools documents them in its
 * `scsinvme.cpp` (`-d sntjmicron`, `-d sntasmedia`, `-d sntrealtek`). One pure
 * builder per bridge: it checks what the bridge can carry and returns the CDBs,
 * or throws UnsupportedError for a command the bridge would silently mangle.
 *
 * - **JMicron JMS583** (`nvme-jmicron`): three ATA PASS-THROUGH(12)-shaped
 *   CDBs (opcode A1h, byte 1 = 80h | protocol): send a 512-byte command block
 *   ("NVME" signature, opcode, NSID, CDW10-15), then the data stage, then read a
 *   512-byte response block that holds the completion (result and status).
 * - **ASMedia ASM236x** (`nvme-asmedia`): one 16-byte CDB, opcode E6h, with the
 *   admin opcode, CDW10 bits 7:0, NUMDL, and CDW13/CDW12 (log page offset). No
 *   NSID: Identify Namespace reaches namespace 1 only.
 * - **Realtek RTL9210** (`nvme-realtek`): one 16-byte CDB, opcode E4h, with the
 *   transfer length (little-endian), the admin opcode and CDW10 bits 7:0. No NSID
 *   and no offset; log reads above 512 bytes return stale data, so they are refused.
 */
import { InvalidArgumentError, ParseError, UnsupportedError } from '../errors.js';
import type { DataDirection } from '../scsi/command.js';
import { leU32, putLeU32 } from './le.js';
import { NVME_BROADCAST_NSID, type NvmeAdminCommand, NvmeAdminOpcode, NvmeIdentifyCns } from './nvme.js';

/** The USB-to-NVMe bridge conventions usbms speaks (smartctl's `-d sntjmicron`, `sntasmedia`, `sntrealtek`). */
export type NvmeBridgeKind = 'nvme-jmicron' | 'nvme-asmedia' | 'nvme-realtek';

/** One SCSI command of a bridge exchange, ready for `execute`. */
export interface BridgeCdb {
  name: string;
  cdb: Uint8Array;
  direction: DataDirection;
  /** Data-in bytes requested, or data-out bytes sent; 0 for no data. */
  length: number;
  data?: Uint8Array;
}

/** Vendor CDB opcodes of the NVMe bridges. */
export const NvmeBridgeOpcode = {
  /** JMicron reuses the ATA PASS-THROUGH(12) opcode (SAT-4 §12.2.3). */
  JMicron: 0xa1,
  ASMedia: 0xe6,
  Realtek: 0xe4,
} as const;

/** JMicron protocol values (byte 1 bits 6:0); bit 7 marks an admin command. */
export const JMicronNvmeProtocol = { Command: 0x0, NonData: 0x1, DmaIn: 0x2, DmaOut: 0x3, Response: 0xf } as const;
const JMICRON_ADMIN = 0x80;
/** "NVME" as a little-endian dword: the signature of the JMicron command and response blocks. */
export const JMICRON_NVME_SIGNATURE = 0x454d_564e;
/** Size of the JMicron command and response blocks. */
export const JMICRON_NVME_BLOCK = 512;

function assertReadable(bridge: string, command: NvmeAdminCommand<unknown>): void {
  if (command.opcode !== NvmeAdminOpcode.Identify && command.opcode !== NvmeAdminOpcode.GetLogPage) {
    throw new UnsupportedError(`${bridge} carries NVMe Identify and Get Log Page only, not admin opcode 0x${command.opcode.toString(16).padStart(2, '0')}`);
  }
  if (command.dataLength < 4 || command.dataLength > 4096) {
    throw new InvalidArgumentError(`${command.name}: ${command.dataLength} bytes is outside 4-4096`);
  }
}

/**
 * The two single-CDB bridges carry no NSID and only CDW10 bits 7:0 (CNS or LID)
 * plus the length: refuse what they would drop, rather than send a different command.
 */
function assertSingleCdbFits(bridge: string, command: NvmeAdminCommand<unknown>, allowOffset: boolean): void {
  assertReadable(bridge, command);
  if (command.opcode === NvmeAdminOpcode.Identify) {
    if (command.cdw10 === NvmeIdentifyCns.Controller) return;
    if (command.cdw10 === NvmeIdentifyCns.Namespace && command.nsid === 1) return;
    throw new UnsupportedError(
      `${bridge} reaches Identify Controller and Identify Namespace 1 only (CDW10 0x${command.cdw10.toString(16)}, NSID ${command.nsid})`,
    );
  }
  if (command.nsid !== 0 && command.nsid !== NVME_BROADCAST_NSID) {
    throw new UnsupportedError(`${bridge} cannot address a namespace: Get Log Page needs NSID 0 or FFFFFFFFh, got ${command.nsid}`);
  }
  if ((command.cdw10 & 0xff00) !== 0) throw new UnsupportedError(`${bridge} cannot carry Get Log Page LSP/RAE (CDW10 bits 15:8)`);
  if (command.cdw11 !== 0 || command.cdw14 !== 0 || command.cdw15 !== 0 || (!allowOffset && (command.cdw12 !== 0 || command.cdw13 !== 0))) {
    throw new UnsupportedError(`${bridge} cannot carry ${allowOffset ? 'CDW11, CDW14 or CDW15' : 'CDW11-15 (no log page offset)'}`);
  }
}

/**
 * ASMedia ASM236x: E6h, byte 1 admin opcode, byte 3 CDW10 bits 7:0, bytes 6-7
 * CDW10 bits 31:16 (NUMDL) big-endian, bytes 8-11 CDW13, bytes 12-15 CDW12 (both big-endian).
 */
export function asmediaNvmeCdb(command: NvmeAdminCommand<unknown>): BridgeCdb {
  assertSingleCdbFits('The ASMedia bridge', command, true);
  const cdb = new Uint8Array(16);
  cdb[0] = NvmeBridgeOpcode.ASMedia;
  cdb[1] = command.opcode;
  cdb[3] = command.cdw10 & 0xff;
  cdb[6] = (command.cdw10 >>> 24) & 0xff;
  cdb[7] = (command.cdw10 >>> 16) & 0xff;
  new DataView(cdb.buffer).setUint32(8, command.cdw13 >>> 0);
  new DataView(cdb.buffer).setUint32(12, command.cdw12 >>> 0);
  return { name: `${command.name} (ASMedia E6h)`, cdb, direction: 'in', length: command.dataLength };
}

/** Realtek RTL9210 log reads above this return stale data from an earlier command. */
export const REALTEK_MAX_LOG_BYTES = 512;

/** Realtek RTL9210: E4h, bytes 1-2 transfer length little-endian, byte 3 admin opcode, byte 4 CDW10 bits 7:0. */
export function realtekNvmeCdb(command: NvmeAdminCommand<unknown>): BridgeCdb {
  assertSingleCdbFits('The Realtek bridge', command, false);
  if (command.opcode === NvmeAdminOpcode.GetLogPage && command.dataLength > REALTEK_MAX_LOG_BYTES) {
    throw new UnsupportedError(
      `The Realtek bridge returns stale data past ${REALTEK_MAX_LOG_BYTES} bytes of a log page; ${command.name} asks ${command.dataLength}`,
    );
  }
  const cdb = new Uint8Array(16);
  cdb[0] = NvmeBridgeOpcode.Realtek;
  cdb[1] = command.dataLength & 0xff;
  cdb[2] = (command.dataLength >>> 8) & 0xff;
  cdb[3] = command.opcode;
  cdb[4] = command.cdw10 & 0xff;
  return { name: `${command.name} (Realtek E4h)`, cdb, direction: 'in', length: command.dataLength };
}

function jmicronCdb(protocol: number, length: number): Uint8Array {
  const cdb = new Uint8Array(12);
  cdb[0] = NvmeBridgeOpcode.JMicron;
  cdb[1] = JMICRON_ADMIN | protocol;
  cdb[3] = (length >>> 16) & 0xff;
  cdb[4] = (length >>> 8) & 0xff;
  cdb[5] = length & 0xff;
  return cdb;
}

/**
 * JMicron JMS583: the three CDBs of one admin command. The command block is
 * little-endian dwords: 0 signature "NVME", 2 opcode, 3 NSID, 12-17 CDW10-15.
 */
export function jmicronNvmeCdbs(command: NvmeAdminCommand<unknown>): { command: BridgeCdb; data: BridgeCdb; response: BridgeCdb } {
  assertReadable('The JMicron bridge', command);
  const block = new Uint8Array(JMICRON_NVME_BLOCK);
  putLeU32(block, 0, JMICRON_NVME_SIGNATURE);
  putLeU32(block, 8, command.opcode);
  putLeU32(block, 12, command.nsid);
  for (const [i, dword] of [command.cdw10, command.cdw11, command.cdw12, command.cdw13, command.cdw14, command.cdw15].entries())
    putLeU32(block, 48 + i * 4, dword);
  return {
    command: {
      name: `${command.name} (JMicron command block)`,
      cdb: jmicronCdb(JMicronNvmeProtocol.Command, JMICRON_NVME_BLOCK),
      direction: 'out',
      length: JMICRON_NVME_BLOCK,
      data: block,
    },
    data: {
      name: `${command.name} (JMicron data)`,
      cdb: jmicronCdb(JMicronNvmeProtocol.DmaIn, command.dataLength),
      direction: 'in',
      length: command.dataLength,
    },
    response: {
      name: `${command.name} (JMicron response)`,
      cdb: jmicronCdb(JMicronNvmeProtocol.Response, JMICRON_NVME_BLOCK),
      direction: 'in',
      length: JMICRON_NVME_BLOCK,
    },
  };
}

/** The completion a JMicron response block reports. */
export interface NvmeCompletion {
  /** Command-specific result (completion dword 0). */
  result: number;
  /** Status Field without the phase tag (completion dword 3 bits 31:17): 0 = success. */
  status: number;
}

/** Decodes the JMicron 512-byte response block: dword 0 "NVME", dword 2 result, dword 5 bits 31:17 status. */
export function decodeJmicronNvmeResponse(data: Uint8Array): NvmeCompletion {
  const what = 'JMicron NVMe response';
  if (data.length < 24) throw new ParseError(what, `needs at least 24 bytes, got ${data.length}`);
  if (leU32(data, 0) !== JMICRON_NVME_SIGNATURE) throw new ParseError(what, 'no "NVME" signature: the bridge did not answer as a JMicron NVMe bridge');
  return { result: leU32(data, 8), status: leU32(data, 20) >>> 17 };
}

/** Status Field parts (NVMe Base 2.0 figure 93): SC bits 7:0, SCT 10:8, DNR bit 14. */
export function describeNvmeStatus(status: number): { sc: number; sct: number; dnr: boolean; text: string } {
  const sc = status & 0xff;
  const sct = (status >>> 8) & 0x07;
  const dnr = (status & 0x4000) !== 0;
  const generic: Record<number, string> = {
    0x01: 'Invalid Command Opcode',
    0x02: 'Invalid Field in Command',
    0x04: 'Data Transfer Error',
    0x06: 'Internal Error',
    0x0b: 'Invalid Namespace or Format',
  };
  const commandSpecific: Record<number, string> = { 0x09: 'Invalid Log Page' };
  const text =
    (sct === 0 ? generic[sc] : sct === 1 ? commandSpecific[sc] : undefined) ?? `status code type ${sct}, status code 0x${sc.toString(16).padStart(2, '0')}`;
  return { sc, sct, dnr, text };
}
