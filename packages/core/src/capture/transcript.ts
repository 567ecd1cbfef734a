/**
 * Transcripts: a readable text record of one conversation with a device, one
 * line per transport call, that `ReplayTransport` plays back. The format is
 * specified in docs/transcript-format.md.
 *
 *     usbms-transcript 1
 *     info maxPacketSizeIn=512 maxPacketSizeOut=512 speed=high vendorId=0x46f4 productId=0x0001
 *     pipes serial
 *     # INQUIRY, LUN 0
 *     out 5553424301000000240000008000061200000024000000000000000000000000 -> ok
 *     in 36 -> ok 00800502...
 *     in 13 -> ok 55534253010000000000000000
 */
import { decodeCbw } from '../bot/wrappers.js';
import { ParseError } from '../errors.js';
import { opcodeName } from '../scsi/opcodes.js';
import type { TransportInfo, UsbSpeed } from '../transport.js';
import { isCbw } from './pcap.js';
import type { UrbComplete, UrbEvent, UrbOperation, UrbStatus } from './recording-transport.js';

/** The first word of a transcript. */
export const TRANSCRIPT_MAGIC = 'usbms-transcript';
/** The format version this code writes and reads (docs/transcript-format.md). */
export const TRANSCRIPT_VERSION = 1;

/** What the host did in one stage (one transport call). */
export type TranscriptRequest =
  | { kind: 'out'; data: Uint8Array }
  | { kind: 'in'; length: number }
  | { kind: 'ctrl'; request: 'get-max-lun' | 'bulk-only-reset' }
  | { kind: 'clear-halt'; pipe: 'in' | 'out' }
  | { kind: 'port-reset' };

/** How the device (or the platform) answered. */
export type TranscriptResult =
  | { status: 'ok' | 'stall' | 'babble'; data?: Uint8Array; bytesWritten?: number }
  | { status: 'timeout' | 'aborted' | 'disconnected' }
  | { status: 'error'; message: string };

/** One stage: a line of the transcript. */
export interface TranscriptStep {
  /** 1-based line number in the text (0 for steps built in code). */
  line: number;
  request: TranscriptRequest;
  result: TranscriptResult;
}

/** A parsed transcript. */
export interface Transcript {
  version: number;
  /** The transport info the recording saw (IDs, packet sizes, speed...): it shapes quirks and transfer sizes. */
  info: TransportInfo;
  /** `pipes concurrent`: the recording transport let a bulk-IN wait while bulk-OUT ran (early status reads). */
  concurrentPipes: boolean;
  /** `port-reset available`: the recording transport could reset the port (recovery may escalate to it). */
  portReset: boolean;
  /** `option key=value` lines: settings of the recording side that shape the exchange (CLI flags, device options). */
  options: Record<string, string>;
  steps: TranscriptStep[];
}

/** Sink of transcript text. */
export interface TranscriptSink {
  /** Takes the next lines of text. */
  write(text: string): void;
}

const HEX = /^[0-9a-fA-F]*$/;

/** Lowercase hex, no separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Parses hex (whitespace ignored); throws `ParseError` naming `where` on odd length or a non-hex character. */
export function fromHex(text: string, where = 'hex'): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!HEX.test(clean) || clean.length % 2 !== 0) throw new ParseError('transcript', `${where}: "${clean.slice(0, 40)}" is not an even number of hex digits`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const INFO_NUMBERS = [
  'maxPacketSizeIn',
  'maxPacketSizeOut',
  'vendorId',
  'productId',
  'interfaceNumber',
  'interfaceSubclass',
  'interfaceProtocol',
  'maxTransferSize',
  'endpointIn',
  'endpointOut',
] as const;
const INFO_STRINGS = ['serialNumber', 'manufacturer', 'product'] as const;
const SPEEDS: readonly UsbSpeed[] = ['low', 'full', 'high', 'super', 'super-plus', 'unknown'];
const HEX_INFO = new Set(['vendorId', 'productId', 'interfaceSubclass', 'interfaceProtocol', 'endpointIn', 'endpointOut']);

/** `key=value` with a value quoted as a JSON string when it has spaces, quotes or `=`. */
function pair(key: string, value: string): string {
  return /^[\w.:/+-]+$/.test(value) ? `${key}=${value}` : `${key}=${JSON.stringify(value)}`;
}

/** Splits `a=1 b="x y"` into pairs; throws on garbage. */
function parsePairs(text: string, line: number): [string, string][] {
  const out: [string, string][] = [];
  const re = /\s*([A-Za-z][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/y;
  let at = 0;
  while (at < text.length) {
    if (text.slice(at).trim() === '') break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) throw new ParseError('transcript', `line ${line}: expected key=value at "${text.slice(at, at + 30)}"`);
    const raw = m[2] ?? '';
    let value: string;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        throw new ParseError('transcript', `line ${line}: bad quoted value ${raw}`);
      }
    } else value = raw;
    out.push([m[1] ?? '', value]);
    at = re.lastIndex;
  }
  return out;
}

function infoLine(info: TransportInfo): string {
  const parts: string[] = [];
  for (const key of INFO_NUMBERS) {
    const value = info[key];
    if (value !== undefined) parts.push(pair(key, HEX_INFO.has(key) ? `0x${value.toString(16).padStart(key.endsWith('Id') ? 4 : 2, '0')}` : String(value)));
  }
  if (info.speed !== undefined) parts.push(pair('speed', info.speed));
  for (const key of INFO_STRINGS) {
    const value = info[key];
    if (value !== undefined) parts.push(pair(key, value));
  }
  return `info ${parts.join(' ')}`;
}

function requestText(request: TranscriptRequest): string {
  switch (request.kind) {
    case 'out':
      return `out ${toHex(request.data)}`;
    case 'in':
      return `in ${request.length}`;
    case 'ctrl':
      return `ctrl ${request.request}`;
    case 'clear-halt':
      return `clear-halt ${request.pipe}`;
    case 'port-reset':
      return 'port-reset';
  }
}

function resultText(request: TranscriptRequest, result: TranscriptResult): string {
  switch (result.status) {
    case 'ok':
    case 'stall':
    case 'babble': {
      const parts: string[] = [result.status];
      if (request.kind === 'out') {
        // Implied when omitted: all bytes for ok, none for a stall.
        const implied = result.status === 'ok' ? request.data.length : 0;
        if (result.bytesWritten !== undefined && result.bytesWritten !== implied) parts.push(String(result.bytesWritten));
      } else if (result.data !== undefined && result.data.length > 0) parts.push(toHex(result.data));
      return parts.join(' ');
    }
    case 'error':
      return `error ${JSON.stringify(result.message)}`;
    default:
      return result.status;
  }
}

/** One transcript line for a step. */
export function formatStep(step: Pick<TranscriptStep, 'request' | 'result'>): string {
  return `${requestText(step.request)} -> ${resultText(step.request, step.result)}`;
}

/** The transcript request of a transport call. */
function requestOf(operation: UrbOperation, data: Uint8Array | undefined): TranscriptRequest {
  switch (operation.kind) {
    case 'bulk-out':
      return { kind: 'out', data: (data ?? new Uint8Array(0)).slice() };
    case 'bulk-in':
      return { kind: 'in', length: operation.requested };
    case 'clear-halt':
      return { kind: 'clear-halt', pipe: operation.pipe };
    case 'class':
      return { kind: 'ctrl', request: operation.request };
    case 'port-reset':
      return { kind: 'port-reset' };
  }
}

function resultOf(event: UrbComplete): TranscriptResult {
  const status: UrbStatus = event.status;
  switch (status) {
    case 'ok':
    case 'stall':
    case 'babble': {
      if (event.operation.kind === 'bulk-out') return { status, bytesWritten: event.length };
      if (event.operation.kind === 'bulk-in' || (event.operation.kind === 'class' && event.operation.request === 'get-max-lun')) {
        return { status, data: (event.data ?? new Uint8Array(0)).slice() };
      }
      return { status };
    }
    case 'cancelled':
      return { status: 'aborted' };
    case 'timeout':
    case 'disconnected':
      return { status };
    case 'error':
      return { status: 'error', message: event.error ?? 'error' };
  }
}

/** Options of {@link TranscriptRecorder}. */
export interface TranscriptRecorderOptions {
  info: TransportInfo;
  concurrentPipes: boolean;
  /** Whether the recorded transport has `portReset`. */
  portReset: boolean;
  /** Settings that shape the exchange, written as `option key=value` lines. */
  options?: Record<string, string | number | boolean>;
  /** Free text written as comment lines at the top (tool, date, command line...). */
  comments?: string[];
}

interface PendingStage {
  id: number;
  request: TranscriptRequest;
  result?: TranscriptResult;
  cbw?: Uint8Array;
}

/**
 * Writes a transcript from URB events (subscribe it to a `RecordingTransport`).
 * Lines come out in submission order, each once its transfer completed: with
 * concurrent pipes a CSW read submitted before the CBW completed still gets
 * the line after the CBW's.
 */
export class TranscriptRecorder {
  readonly #sink: TranscriptSink;
  #pending: PendingStage[] = [];

  constructor(sink: TranscriptSink, options: TranscriptRecorderOptions) {
    this.#sink = sink;
    const lines = [`${TRANSCRIPT_MAGIC} ${TRANSCRIPT_VERSION}`];
    for (const c of options.comments ?? []) lines.push(`# ${c.replace(/\n/g, ' ')}`);
    lines.push(infoLine(options.info));
    lines.push(`pipes ${options.concurrentPipes ? 'concurrent' : 'serial'}`);
    lines.push(`port-reset ${options.portReset ? 'available' : 'unavailable'}`);
    const entries = Object.entries(options.options ?? {});
    if (entries.length > 0) lines.push(`option ${entries.map(([k, v]) => pair(k, String(v))).join(' ')}`);
    sink.write(`${lines.join('\n')}\n`);
  }

  /** Feed every event of a `RecordingTransport` here. */
  record(event: UrbEvent): void {
    if (event.phase === 'submit') {
      const request = requestOf(event.operation, event.data);
      const entry: PendingStage = { id: event.id, request };
      if (request.kind === 'out' && isCbw(request.data)) entry.cbw = request.data;
      this.#pending.push(entry);
      return;
    }
    const entry = this.#pending.find((p) => p.id === event.id);
    if (entry === undefined) return;
    entry.result = resultOf(event);
    this.#flush();
  }

  #flush(): void {
    let text = '';
    while (this.#pending.length > 0 && this.#pending[0]?.result !== undefined) {
      const entry = this.#pending.shift();
      if (entry?.result === undefined) break;
      if (entry.cbw !== undefined) text += `# ${describeCbw(entry.cbw)}\n`;
      text += `${formatStep({ request: entry.request, result: entry.result })}\n`;
    }
    if (text !== '') this.#sink.write(text);
  }
}

/** "READ(10) (28), LUN 0, tag 7, 4096 bytes in" for a comment or a diff. */
export function describeCbw(bytes: Uint8Array): string {
  try {
    const cbw = decodeCbw(bytes);
    const opcode = cbw.cdb[0] ?? 0;
    const dir = cbw.dataTransferLength === 0 ? 'no data' : `${cbw.dataTransferLength} bytes ${cbw.direction}`;
    return `${opcodeName(opcode)} (${opcode.toString(16).padStart(2, '0')}), LUN ${cbw.lun}, tag ${cbw.tag}, ${dir}`;
  } catch {
    return 'malformed CBW';
  }
}

function parseRequest(text: string, line: number): TranscriptRequest {
  const [verb = '', arg = '', ...rest] = text.trim().split(/\s+/);
  const extra = rest.length > 0;
  switch (verb) {
    case 'out':
      if (extra) throw new ParseError('transcript', `line ${line}: out takes one hex string`);
      return { kind: 'out', data: fromHex(arg, `line ${line}`) };
    case 'in': {
      const n = Number(arg);
      if (!/^\d+$/.test(arg) || !Number.isSafeInteger(n) || extra) throw new ParseError('transcript', `line ${line}: in takes a length, got "${arg}"`);
      return { kind: 'in', length: n };
    }
    case 'ctrl':
      if ((arg !== 'get-max-lun' && arg !== 'bulk-only-reset') || extra) throw new ParseError('transcript', `line ${line}: unknown control request "${arg}"`);
      return { kind: 'ctrl', request: arg };
    case 'clear-halt':
      if ((arg !== 'in' && arg !== 'out') || extra) throw new ParseError('transcript', `line ${line}: clear-halt takes in or out`);
      return { kind: 'clear-halt', pipe: arg };
    case 'port-reset':
      if (arg !== '') throw new ParseError('transcript', `line ${line}: port-reset takes no argument`);
      return { kind: 'port-reset' };
    default:
      throw new ParseError('transcript', `line ${line}: unknown stage "${verb}"`);
  }
}

function parseResult(text: string, request: TranscriptRequest, line: number): TranscriptResult {
  const trimmed = text.trim();
  const space = trimmed.indexOf(' ');
  const status = space < 0 ? trimmed : trimmed.slice(0, space);
  const arg = space < 0 ? '' : trimmed.slice(space + 1).trim();
  switch (status) {
    case 'ok':
    case 'stall':
    case 'babble': {
      if (request.kind === 'out') {
        if (arg === '') return { status, bytesWritten: status === 'ok' ? request.data.length : 0 };
        const n = Number(arg);
        if (!/^\d+$/.test(arg) || n > request.data.length)
          throw new ParseError('transcript', `line ${line}: bytes written "${arg}" is not 0..${request.data.length}`);
        return { status, bytesWritten: n };
      }
      if (request.kind === 'in' || (request.kind === 'ctrl' && request.request === 'get-max-lun')) {
        const data = fromHex(arg, `line ${line}`);
        const limit = request.kind === 'in' ? request.length : 1;
        if (data.length > limit) throw new ParseError('transcript', `line ${line}: ${data.length} bytes answer a request of ${limit}`);
        return { status, data };
      }
      if (arg !== '') throw new ParseError('transcript', `line ${line}: ${request.kind} returns no data`);
      if (status === 'babble') throw new ParseError('transcript', `line ${line}: ${request.kind} cannot babble`);
      return { status };
    }
    case 'timeout':
    case 'aborted':
    case 'disconnected':
      if (arg !== '') throw new ParseError('transcript', `line ${line}: ${status} takes no argument`);
      return { status };
    case 'error': {
      let message = arg;
      if (arg.startsWith('"')) {
        try {
          message = JSON.parse(arg) as string;
        } catch {
          throw new ParseError('transcript', `line ${line}: bad quoted error message`);
        }
      }
      return { status: 'error', message };
    }
    default:
      throw new ParseError('transcript', `line ${line}: unknown result "${status}"`);
  }
}

/**
 * Parses transcript text. Strict: an unknown line, bad hex, a length that does
 * not fit or a missing header throws `ParseError` with the line number.
 */
export function parseTranscript(text: string): Transcript {
  const lines = text.split(/\r?\n/);
  const transcript: Transcript = {
    version: 0,
    info: { maxPacketSizeIn: 512, maxPacketSizeOut: 512 },
    concurrentPipes: false,
    portReset: false,
    options: {},
    steps: [],
  };
  let sawInfo = false;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    if (transcript.version === 0) {
      const m = /^usbms-transcript (\d+)$/.exec(raw);
      if (m === null) throw new ParseError('transcript', `line ${line}: expected "${TRANSCRIPT_MAGIC} ${TRANSCRIPT_VERSION}" first`);
      transcript.version = Number(m[1]);
      if (transcript.version !== TRANSCRIPT_VERSION)
        throw new ParseError('transcript', `line ${line}: version ${transcript.version} is not supported (${TRANSCRIPT_VERSION} is)`);
      continue;
    }
    const keyword = raw.split(/\s/, 1)[0] ?? '';
    const rest = raw.slice(keyword.length);
    if (keyword === 'info') {
      sawInfo = true;
      const info: Record<string, unknown> = {};
      for (const [k, v] of parsePairs(rest, line)) {
        if ((INFO_NUMBERS as readonly string[]).includes(k)) {
          const n = Number(v);
          if (!Number.isSafeInteger(n) || n < 0) throw new ParseError('transcript', `line ${line}: ${k}=${v} is not a number`);
          info[k] = n;
        } else if (k === 'speed') {
          if (!SPEEDS.includes(v as UsbSpeed)) throw new ParseError('transcript', `line ${line}: unknown speed ${v}`);
          info[k] = v;
        } else if ((INFO_STRINGS as readonly string[]).includes(k)) info[k] = v;
        else throw new ParseError('transcript', `line ${line}: unknown info field ${k}`);
      }
      if (typeof info.maxPacketSizeIn !== 'number' || typeof info.maxPacketSizeOut !== 'number') {
        throw new ParseError('transcript', `line ${line}: info needs maxPacketSizeIn and maxPacketSizeOut`);
      }
      transcript.info = info as unknown as TransportInfo;
      continue;
    }
    if (keyword === 'pipes') {
      const v = rest.trim();
      if (v !== 'concurrent' && v !== 'serial') throw new ParseError('transcript', `line ${line}: pipes is "concurrent" or "serial"`);
      transcript.concurrentPipes = v === 'concurrent';
      continue;
    }
    if (keyword === 'port-reset' && !raw.includes(' -> ')) {
      const v = rest.trim();
      if (v !== 'available' && v !== 'unavailable') throw new ParseError('transcript', `line ${line}: port-reset is "available" or "unavailable"`);
      transcript.portReset = v === 'available';
      continue;
    }
    if (keyword === 'option') {
      for (const [k, v] of parsePairs(rest, line)) transcript.options[k] = v;
      continue;
    }
    const arrow = raw.indexOf(' -> ');
    if (arrow < 0) throw new ParseError('transcript', `line ${line}: a stage is "REQUEST -> RESULT", got "${raw.slice(0, 60)}"`);
    const request = parseRequest(raw.slice(0, arrow), line);
    const result = parseResult(raw.slice(arrow + 4), request, line);
    transcript.steps.push({ line, request, result });
  }
  if (transcript.version === 0) throw new ParseError('transcript', `empty: expected "${TRANSCRIPT_MAGIC} ${TRANSCRIPT_VERSION}"`);
  if (!sawInfo) throw new ParseError('transcript', 'no info line (the transport info the recording saw)');
  return transcript;
}
