/**
 * Decodes a capture (pcap of usbmon records, or a transcript) into the BOT
 * commands it holds: opcode names, CDB fields, data lengths, CSW status,
 * residue and sense. What `usbms decode` prints.
 */
import { BotRequest, CBW_FLAG_DATA_IN, CBW_MAX_CDB_LENGTH, CbwOffset, CSW_LENGTH, u32le } from '../bot/wire.js';
import { decodeReadCapacity10 } from '../scsi/capacity.js';
import { decodeInquiry } from '../scsi/inquiry.js';
import { opcodeName } from '../scsi/opcodes.js';
import { decodeSense } from '../sense/decode.js';
import { formatSense } from '../sense/format.js';
import type { SenseData } from '../sense/types.js';
import { isCbw, isCsw, type PcapUsbRecord } from './pcap.js';
import type { Transcript, TranscriptStep } from './transcript.js';
import { UsbmonTransferType } from './usbmon.js';

/** One stage of the exchange, from either source. */
export interface CaptureStage {
  kind: 'out' | 'in' | 'get-max-lun' | 'bulk-only-reset' | 'clear-halt' | 'port-reset' | 'get-descriptor' | 'control';
  /** 'ok', 'stall', 'babble', 'timeout', 'aborted', 'disconnected', 'error', or usbmon's errno ("-71"). */
  status: string;
  /** Bytes transferred (the URB's actual length). */
  length: number;
  /** Requested bytes of an IN stage. */
  requested?: number;
  /** The captured bytes (may be cut by the pcap snap length: compare with `length`). */
  data: Uint8Array;
  /** clear-halt: which endpoint (bEndpointAddress). */
  endpoint?: number;
  /** Seconds since the epoch, when known (pcap). */
  time?: number;
  /** "bus.device" for pcap stages (a usbmon capture holds every device of the bus). */
  device?: string;
}

/** One BOT command and what became of it. */
export interface DecodedCommand {
  /** 1-based, in the order of the CBWs. */
  index: number;
  time?: number;
  device?: string;
  tag: number;
  lun: number;
  opcode: number;
  name: string;
  cdb: Uint8Array;
  /** Decoded CDB fields ("lba=64 blocks=8"). */
  fields: string;
  direction: 'in' | 'out' | 'none';
  /** dCBWDataTransferLength. */
  expected: number;
  /** Bytes the data stage moved. */
  transferred: number;
  /** Data stage status(es) other than ok, and recovery steps (clear-halt, reset) in between. */
  events: string[];
  /** CSW status: 'good', 'check-condition', 'phase-error', or what ended the command without a CSW. */
  status: string;
  residue?: number;
  /** Decoded answer: sense of a REQUEST SENSE, INQUIRY identity, capacity. */
  answer?: string;
  sense?: SenseData;
}

/** Decoded capture: commands, and the stages outside any command (Get Max LUN, resets). */
export interface DecodedCapture {
  commands: DecodedCommand[];
  /** Everything in order: commands and standalone control events, as printable lines. */
  lines: string[];
}

/** Stages of a transcript, in its order. */
export function stagesOfTranscript(transcript: Transcript): CaptureStage[] {
  return transcript.steps.map(stageOfStep);
}

function stageOfStep(step: TranscriptStep): CaptureStage {
  const r = step.result;
  const data = 'data' in r && r.data !== undefined ? r.data : new Uint8Array(0);
  const status = r.status;
  switch (step.request.kind) {
    case 'out': {
      const written = 'bytesWritten' in r && r.bytesWritten !== undefined ? r.bytesWritten : status === 'ok' ? step.request.data.length : 0;
      return { kind: 'out', status, length: written, data: step.request.data };
    }
    case 'in':
      return { kind: 'in', status, length: data.length, requested: step.request.length, data };
    case 'ctrl':
      return { kind: step.request.request, status, length: data.length, data };
    case 'clear-halt':
      return { kind: 'clear-halt', status, length: 0, data, endpoint: step.request.pipe === 'in' ? 0x81 : 0x02 };
    case 'port-reset':
      return { kind: 'port-reset', status, length: 0, data };
  }
}

function errnoStatus(status: number): string {
  switch (status) {
    case 0:
      return 'ok';
    case -32:
      return 'stall';
    case -75:
      return 'babble';
    case -2:
    case -104:
      return `cancelled (${status})`;
    default:
      return String(status);
  }
}

/**
 * Stages of a usbmon pcap: each submission paired with its completion by URB
 * id, in the order the host program issued them. Control transfers are
 * classified by their SETUP packet (BOT 1.0 §3.1, §3.2; USB 2.0 §9.4).
 *
 * The order is the submissions', with one exception: the bulk-IN URBs a
 * device got between the end of one command and the next CBW are that CBW's
 * early status read, and are put after the CBW. A host sends a CBW only once
 * the previous command's status stage is over (BOT 1.0 §5.1, §6.2), and has
 * nothing to read from a device between commands, so an IN transfer then is
 * one submitted together with the next CBW; a host that submits each transfer
 * from its own thread (node-usb does) can hand the kernel that status read
 * before the CBW, and usbmon records it so. "Between commands" is: after a
 * CSW or a Bulk-Only Mass Storage Reset (§5.3.4) and before the next CBW
 * (QEMU's usb-storage stalls an IN token that arrives then, so the read may
 * be over before the CBW is submitted), or still pending when the CBW is
 * submitted (it receives that command's data or status, whoever sent it).
 */
export function stagesOfPcap(records: readonly PcapUsbRecord[]): CaptureStage[] {
  interface Urb {
    submit: PcapUsbRecord;
    complete?: PcapUsbRecord;
  }
  interface DeviceState {
    /** Bulk-IN URBs not completed yet. */
    pendingIn: Set<Urb>;
    /** Bulk-IN URBs submitted since the last command ended; undefined from a CBW until its command ends. */
    betweenCommands: Urb[] | undefined;
  }
  const order: Urb[] = [];
  // By bus.device.endpoint.id: the kernel reuses a freed URB's address, never a pending one's.
  const pending = new Map<string, Urb>();
  const devices = new Map<string, DeviceState>();
  for (const record of records) {
    const h = record.header;
    if (h.transferType !== UsbmonTransferType.bulk && h.transferType !== UsbmonTransferType.control) continue;
    const device = `${h.busNumber}.${h.deviceAddress}`;
    const key = `${device}.${h.endpoint}.${h.id}`;
    let state = devices.get(device);
    if (state === undefined) {
      // Before the first CBW of the capture no command is open.
      state = { pendingIn: new Set(), betweenCommands: [] };
      devices.set(device, state);
    }
    const bulk = h.transferType === UsbmonTransferType.bulk;
    const bulkIn = bulk && (h.endpoint & 0x80) !== 0;
    if (h.type !== 'S') {
      const urb = pending.get(key);
      if (urb === undefined) continue; // submitted before the capture started
      urb.complete = record;
      pending.delete(key);
      state.pendingIn.delete(urb);
      const setup = urb.submit.header.setup;
      const reset = !bulk && setup?.[0] === 0x21 && setup[1] === BotRequest.Reset;
      if ((bulkIn && isCsw(record.data)) || reset) state.betweenCommands = [];
      continue;
    }
    const urb: Urb = { submit: record };
    pending.set(key, urb);
    if (bulkIn) {
      state.pendingIn.add(urb);
      state.betweenCommands?.push(urb);
      order.push(urb);
    } else if (bulk && isCbw(record.data)) {
      const early = new Set([...(state.betweenCommands ?? []), ...state.pendingIn]);
      for (const o of early) order.splice(order.lastIndexOf(o), 1);
      order.push(urb, ...[...early].sort((a, b) => a.submit.frame - b.submit.frame));
      state.betweenCommands = undefined;
    } else {
      order.push(urb);
    }
  }
  const stages: CaptureStage[] = [];
  for (const { submit, complete } of order) {
    const h = submit.header;
    const isIn = (h.endpoint & 0x80) !== 0;
    const status =
      complete === undefined ? 'no completion' : complete.header.type === 'E' ? `submit error ${complete.header.status}` : errnoStatus(complete.header.status);
    const base = { status, time: submit.time, device: `${h.busNumber}.${h.deviceAddress}` };
    if (h.transferType === UsbmonTransferType.bulk) {
      if (isIn) stages.push({ ...base, kind: 'in', requested: h.length, length: complete?.header.length ?? 0, data: complete?.data ?? new Uint8Array(0) });
      else stages.push({ ...base, kind: 'out', length: complete?.header.length ?? 0, data: submit.data });
      continue;
    }
    const setup = h.setup ?? new Uint8Array(8);
    const [type, request] = [setup[0] ?? 0, setup[1] ?? 0];
    const wIndex = (setup[4] ?? 0) | ((setup[5] ?? 0) << 8);
    const data = complete?.data ?? new Uint8Array(0);
    if (type === 0xa1 && request === BotRequest.GetMaxLun) stages.push({ ...base, kind: 'get-max-lun', length: data.length, data });
    else if (type === 0x21 && request === BotRequest.Reset) stages.push({ ...base, kind: 'bulk-only-reset', length: 0, data });
    else if (type === 0x02 && request === 0x01) stages.push({ ...base, kind: 'clear-halt', length: 0, data, endpoint: wIndex & 0xff });
    else if (type === 0x80 && request === 0x06) stages.push({ ...base, kind: 'get-descriptor', length: data.length, data });
    else stages.push({ ...base, kind: 'control', length: data.length, data: setup });
  }
  return stages;
}

const u32 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
const u16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);

/** The CDB's fields as "name=value" pairs, for the common commands (SPC-4 §6, SBC-3 §5). */
export function describeCdb(cdb: Uint8Array): string {
  const op = cdb[0] ?? 0;
  switch (op) {
    case 0x08:
    case 0x0a:
      return `lba=${(((cdb[1] ?? 0) & 0x1f) << 16) | u16(cdb, 2)} blocks=${cdb[4] === 0 ? 256 : (cdb[4] ?? 0)}`;
    case 0x28:
    case 0x2a:
    case 0x2f:
    case 0x35:
      return `lba=${u32(cdb, 2)} blocks=${u16(cdb, 7)}`;
    case 0xa8:
    case 0xaa:
      return `lba=${u32(cdb, 2)} blocks=${u32(cdb, 6)}`;
    case 0x88:
    case 0x8a:
    case 0x91: {
      const lba = u32(cdb, 2) * 2 ** 32 + u32(cdb, 6);
      return `lba=${lba} blocks=${u32(cdb, 10)}`;
    }
    case 0x12:
      return (cdb[1] ?? 0) & 1 ? `vpd=0x${(cdb[2] ?? 0).toString(16).padStart(2, '0')} alloc=${u16(cdb, 3)}` : `alloc=${u16(cdb, 3)}`;
    case 0x03:
      return `alloc=${cdb[4] ?? 0}${(cdb[1] ?? 0) & 1 ? ' desc' : ''}`;
    case 0x1a:
      return `page=0x${((cdb[2] ?? 0) & 0x3f).toString(16).padStart(2, '0')} alloc=${cdb[4] ?? 0}`;
    case 0x5a:
      return `page=0x${((cdb[2] ?? 0) & 0x3f).toString(16).padStart(2, '0')} alloc=${u16(cdb, 7)}`;
    case 0x1b:
      return `start=${(cdb[4] ?? 0) & 1} loej=${((cdb[4] ?? 0) >> 1) & 1}`;
    case 0x1e:
      return `prevent=${(cdb[4] ?? 0) & 3}`;
    case 0x00:
    case 0x25:
      return '';
    default:
      return `cdb=${Array.from(cdb, (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
  }
}

function answerOf(command: DecodedCommand, data: Uint8Array): void {
  if (data.length === 0) return;
  try {
    if (command.opcode === 0x03) {
      command.sense = decodeSense(data);
      command.answer = `sense ${formatSense(command.sense)}`;
    } else if (command.opcode === 0x12 && ((command.cdb[1] ?? 0) & 1) === 0 && data.length >= 36) {
      const inq = decodeInquiry(data);
      command.answer = `"${inq.vendor}" "${inq.product}" "${inq.revision}"`;
    } else if (command.opcode === 0x25 && data.length >= 8) {
      const cap = decodeReadCapacity10(data);
      command.answer = `last LBA ${cap.lastLba}, block ${cap.blockSize}`;
    }
  } catch {
    // A cut (snap length) or malformed answer: the lengths still say what happened.
  }
}

function cswStatusName(status: number): string {
  return status === 0 ? 'good' : status === 1 ? 'check-condition' : status === 2 ? 'phase-error' : `status ${status}`;
}

/** Groups stages into BOT commands (BOT 1.0 §5: CBW, optional data stage, CSW) and describes the rest. */
export function decodeStages(stages: readonly CaptureStage[]): DecodedCapture {
  const commands: DecodedCommand[] = [];
  const lines: string[] = [];
  const devices = new Set(stages.filter((s) => s.kind === 'out' || s.kind === 'in').map((s) => s.device));
  const multi = devices.size > 1;
  const current = new Map<string, DecodedCommand>();
  const firstData = new Map<DecodedCommand, Uint8Array>();
  const prefix = (s: { device?: string | undefined }): string => (multi && s.device !== undefined ? `[${s.device}] ` : '');

  const finish = (command: DecodedCommand): void => {
    const d = command.direction === 'none' ? '' : ` ${command.direction} ${command.transferred}/${command.expected}`;
    const residue = command.residue === undefined ? '' : ` residue ${command.residue}`;
    const events = command.events.length === 0 ? '' : ` [${command.events.join(', ')}]`;
    const fields = command.fields === '' ? '' : ` ${command.fields}`;
    const answer = command.answer === undefined ? '' : `  ${command.answer}`;
    lines.push(
      `${prefix(command)}#${command.index} LUN ${command.lun} ${command.name}${fields}${d}${events} -> ${command.status.toUpperCase()}${residue}${answer}`,
    );
  };

  const queue = [...stages];
  for (let i = 0; i < queue.length; i++) {
    const stage = queue[i] as CaptureStage;
    const key = stage.device ?? '';
    const open = current.get(key);
    if (stage.kind === 'out' && isCbw(stage.data)) {
      if (open !== undefined) {
        open.status = 'no CSW';
        finish(open);
      }
      const b = stage.data;
      const flags = b[CbwOffset.flags] ?? 0;
      const expected = u32le(b, CbwOffset.dataTransferLength);
      const cdbLength = Math.min(CBW_MAX_CDB_LENGTH, (b[CbwOffset.cdbLength] ?? 0) & 0x1f);
      const cdb = b.slice(CbwOffset.cdb, CbwOffset.cdb + Math.max(1, cdbLength));
      const opcode = cdb[0] ?? 0;
      const command: DecodedCommand = {
        index: commands.length + 1,
        tag: u32le(b, CbwOffset.tag),
        lun: (b[CbwOffset.lun] ?? 0) & 0x0f,
        opcode,
        name: opcodeName(opcode),
        cdb,
        fields: describeCdb(cdb),
        direction: expected === 0 ? 'none' : flags & CBW_FLAG_DATA_IN ? 'in' : 'out',
        expected,
        transferred: 0,
        events: stage.status === 'ok' ? [] : [`CBW ${stage.status}`],
        status: 'open',
      };
      if (stage.time !== undefined) command.time = stage.time;
      if (stage.device !== undefined) command.device = stage.device;
      commands.push(command);
      current.set(key, command);
      continue;
    }
    if (stage.kind === 'in' && open !== undefined && stage.length === CSW_LENGTH && isCsw(stage.data)) {
      // An early status read (submitted with the CBW) comes before the data-out stage in submission
      // order: take that data-out (and a clear-halt of it) first.
      if (open.direction === 'out' && !firstData.has(open)) {
        let j = i + 1;
        for (;;) {
          const next = queue[j];
          if (next === undefined || (next.device ?? '') !== key) break;
          if ((next.kind === 'out' && !isCbw(next.data)) || (j > i + 1 && next.kind === 'clear-halt')) j += 1;
          else break;
        }
        if (j > i + 1) {
          queue.splice(i, j - i, ...queue.slice(i + 1, j), stage);
          i -= 1;
          continue;
        }
      }
      const b = stage.data;
      open.residue = ((b[8] ?? 0) | ((b[9] ?? 0) << 8) | ((b[10] ?? 0) << 16) | ((b[11] ?? 0) << 24)) >>> 0;
      open.status = cswStatusName(b[12] ?? 0);
      const tag = ((b[4] ?? 0) | ((b[5] ?? 0) << 8) | ((b[6] ?? 0) << 16) | ((b[7] ?? 0) << 24)) >>> 0;
      if (tag !== open.tag) open.events.push(`CSW tag ${tag} != CBW tag ${open.tag}`);
      const data = firstData.get(open);
      if (data !== undefined) answerOf(open, data);
      finish(open);
      current.delete(key);
      continue;
    }
    if ((stage.kind === 'in' || stage.kind === 'out') && open !== undefined) {
      if (stage.status === 'ok' || stage.status === 'babble') open.transferred += stage.length;
      if (!firstData.has(open)) firstData.set(open, stage.kind === 'in' ? stage.data : new Uint8Array(0));
      if (stage.status !== 'ok')
        open.events.push(`${stage.kind}${stage.kind === 'in' ? `(${stage.requested ?? stage.length})` : `(${stage.data.length})`} ${stage.status}`);
      continue;
    }
    const what =
      stage.kind === 'clear-halt'
        ? `clear-halt 0x${(stage.endpoint ?? 0).toString(16).padStart(2, '0')}`
        : stage.kind === 'get-max-lun'
          ? `get-max-lun${stage.data.length > 0 ? ` = ${stage.data[0]}` : ''}`
          : stage.kind === 'in' || stage.kind === 'out'
            ? `bulk ${stage.kind} ${stage.length} bytes outside a command`
            : stage.kind;
    const withStatus = stage.status === 'ok' ? what : `${what} ${stage.status}`;
    if (open !== undefined && (stage.kind === 'clear-halt' || stage.kind === 'bulk-only-reset' || stage.kind === 'port-reset')) open.events.push(withStatus);
    else if (stage.kind !== 'get-descriptor') lines.push(`${prefix(stage)}${withStatus}`);
  }
  for (const open of current.values()) {
    open.status = 'no CSW';
    finish(open);
  }
  return { commands, lines };
}
