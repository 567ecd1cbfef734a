import { RemoteProtocolError, type SerializedUsbmsError, UsbmsErrorCode } from '../errors.js';
import type { DataDirection } from '../scsi/command.js';
import { ByteReader, ByteWriter, readValue, writeValue } from './values.js';

/*
 * Frames of the usbms remote protocol, version 1 (docs/remote-protocol.md).
 * Every frame is one message: an 8-byte header, then a body whose layout the
 * type fixes. All integers are little-endian. One place encodes and one place
 * decodes each layout; the decoder checks every field and throws
 * RemoteProtocolError (code REMOTE_PROTOCOL) naming the field.
 */

/** The protocol version this code speaks (header byte 0). */
export const REMOTE_PROTOCOL_VERSION = 1;

/** Header: version u8, type u8, reserved u16 (0), request id u32. */
export const FRAME_HEADER_BYTES = 8;
/** Fixed part of an EXECUTE body before the name, CDB padding included (see encodeExecute). */
export const EXECUTE_FIXED_BYTES = 33;
/** Fixed part of a RESULT body before the sense bytes. */
export const RESULT_FIXED_BYTES = 8;
/** Longest command name carried for traces. */
export const MAX_NAME_BYTES = 64;
/** Longest sense data carried (SPC-4 §4.5.1: at most 252 bytes). */
export const MAX_SENSE_BYTES = 252;

/** Message types. Client to server below 0x80, server to client from 0x80. */
export const FrameType = {
  Hello: 0x01,
  ListDevices: 0x02,
  Execute: 0x10,
  Cancel: 0x11,
  Reset: 0x12,
  Trace: 0x13,
  Acquire: 0x14,
  Release: 0x15,
  Renew: 0x16,
  ClearInterrupted: 0x17,
  Ok: 0x80,
  Welcome: 0x81,
  Devices: 0x82,
  Result: 0x90,
  TraceEvent: 0xa0,
  Event: 0xa1,
  Error: 0xff,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const CLIENT_TYPES = new Set<number>([0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
const SERVER_TYPES = new Set<number>([0x80, 0x81, 0x82, 0x90, 0xa0, 0xa1, 0xff]);

const DIRECTIONS: readonly DataDirection[] = ['none', 'in', 'out'];
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** EXECUTE flags (byte 6 of the body). */
export const ExecuteFlag = {
  /** Typed-command call: the server applies the device's retry policy (UNIT ATTENTION, becoming ready) and answers CHECK CONDITION with an error. */
  Run: 0x01,
  /** The command changes the medium (ScsiCommand.writesMedium); read-only devices and tokens refuse it. */
  WritesMedium: 0x02,
  /** Raw call: answer CHECK CONDITION with ScsiCheckConditionError instead of a RESULT. */
  ThrowOnCheckCondition: 0x04,
} as const;
const KNOWN_EXECUTE_FLAGS = 0x07;

/** The fields of an EXECUTE body (docs/remote-protocol.md §5). */
export interface ExecuteFrame {
  device: number;
  lun: number;
  direction: DataDirection;
  flags: number;
  /** 0: the server's default. */
  timeoutMs: number;
  length: number;
  cdb: Uint8Array;
  name: string;
  data: Uint8Array | undefined;
}

/** The fields of a RESULT body (docs/remote-protocol.md §5). */
export interface ResultFrame {
  status: 'good' | 'check-condition';
  statusCode: number;
  residue: number;
  sense: Uint8Array | undefined;
  data: Uint8Array;
}

/** A decoded frame: header fields and the body left to the type's decoder. */
export interface Frame {
  type: FrameType;
  id: number;
  body: Uint8Array;
}

function header(w: ByteWriter, type: FrameType, id: number): void {
  w.u8(REMOTE_PROTOCOL_VERSION);
  w.u8(type);
  w.u8(0);
  w.u8(0);
  w.u32(id);
}

/** Splits a frame into header and body, checking version, type (for the receiving side) and size. */
export function decodeFrame(bytes: Uint8Array, from: 'client' | 'server', maxBytes: number): Frame {
  if (bytes.length > maxBytes) {
    throw new RemoteProtocolError(`frame of ${bytes.length} bytes is larger than the limit of ${maxBytes}`, {
      details: { size: bytes.length, limit: maxBytes },
    });
  }
  const r = new ByteReader(bytes, 'frame header');
  if (bytes.length < FRAME_HEADER_BYTES) r.fail(`${bytes.length} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  const version = r.u8();
  if (version !== REMOTE_PROTOCOL_VERSION) {
    throw new RemoteProtocolError(`protocol version ${version} is not supported (this side speaks ${REMOTE_PROTOCOL_VERSION})`, { details: { version } });
  }
  const type = r.u8();
  if (!(from === 'client' ? CLIENT_TYPES : SERVER_TYPES).has(type)) r.fail(`unknown ${from} frame type 0x${type.toString(16)}`);
  if (r.u8() !== 0 || r.u8() !== 0) r.fail('reserved header bytes are not zero');
  const id = r.u32();
  return { type: type as FrameType, id, body: r.rest() };
}

/** A frame whose body is one value (HELLO, WELCOME, DEVICES, OK, EVENT, ERROR). */
export function encodeValueFrame(type: FrameType, id: number, value: unknown): Uint8Array {
  const w = new ByteWriter(64);
  header(w, type, id);
  writeValue(w, value);
  return w.finish();
}

/** Decodes a body that is exactly one value; `what` names the frame in errors. */
export function decodeValueBody(frame: Frame, what: string): unknown {
  const r = new ByteReader(frame.body, what);
  const value = readValue(r);
  r.end();
  return value;
}

/** TRACE EVENT: the device id, then the event as one value. */
export function encodeTraceEventFrame(device: number, event: unknown): Uint8Array {
  const w = new ByteWriter(128);
  header(w, FrameType.TraceEvent, 0);
  w.u32(device);
  writeValue(w, event);
  return w.finish();
}

/** A frame whose body is a device id, optionally followed by one u32 (CANCEL: the request id; ACQUIRE: lease ms; TRACE: 0/1). */
export function encodeIdFrame(type: FrameType, id: number, device: number, extra?: number): Uint8Array {
  const w = new ByteWriter(16);
  header(w, type, id);
  w.u32(device);
  if (extra !== undefined) w.u32(extra);
  return w.finish();
}

/** Decodes a device-id body (and its u32 extra when `withExtra`). */
export function decodeIdBody(frame: Frame, what: string, withExtra: boolean): { device: number; extra: number } {
  const r = new ByteReader(frame.body, what);
  const device = r.u32();
  const extra = withExtra ? r.u32() : 0;
  r.end();
  return { device, extra };
}

/**
 * EXECUTE body: device u32, lun u8, direction u8 (0 none, 1 in, 2 out),
 * flags u8, CDB length u8 (1-16, BOT 1.0 §5.1 bCBWCBLength), timeout ms u32,
 * transfer length u32, name length u8, CDB (16 bytes, zero-padded), name
 * (UTF-8), data-out (exactly `length` bytes for 'out', none otherwise).
 */
export function encodeExecute(id: number, e: ExecuteFrame): Uint8Array {
  const name = e.name === '' ? EMPTY : textEncoder.encode(e.name).subarray(0, MAX_NAME_BYTES);
  const data = e.direction === 'out' ? (e.data ?? EMPTY) : EMPTY;
  const w = new ByteWriter(FRAME_HEADER_BYTES + EXECUTE_FIXED_BYTES + name.length + data.length);
  header(w, FrameType.Execute, id);
  w.u32(e.device);
  w.u8(e.lun);
  w.u8(DIRECTIONS.indexOf(e.direction));
  w.u8(e.flags);
  w.u8(e.cdb.length);
  w.u32(e.timeoutMs);
  w.u32(e.length);
  w.u8(name.length);
  const cdb = new Uint8Array(16);
  cdb.set(e.cdb.subarray(0, 16));
  w.bytes(cdb);
  w.bytes(name);
  w.bytes(data);
  return w.finish();
}

/** Decodes and checks an EXECUTE body; a data-in length above `maxDataIn` is refused. */
export function decodeExecute(frame: Frame, maxDataIn: number): ExecuteFrame {
  const r = new ByteReader(frame.body, 'EXECUTE');
  const device = r.u32();
  const lun = r.u8();
  const directionCode = r.u8();
  const direction = DIRECTIONS[directionCode] ?? r.fail(`direction ${directionCode} is not 0 (none), 1 (in) or 2 (out)`);
  const flags = r.u8();
  if ((flags & ~KNOWN_EXECUTE_FLAGS) !== 0) r.fail(`unknown flags 0x${flags.toString(16)}`);
  const cdbLength = r.u8();
  if (cdbLength < 1 || cdbLength > 16) r.fail(`CDB length ${cdbLength} is not 1-16 (BOT 1.0 §5.1)`);
  const timeoutMs = r.u32();
  const length = r.u32();
  const nameLength = r.u8();
  if (nameLength > MAX_NAME_BYTES) r.fail(`name of ${nameLength} bytes is longer than ${MAX_NAME_BYTES}`);
  const cdb = r.view(16).slice(0, cdbLength);
  let name: string;
  try {
    name = nameLength === 0 ? '' : textDecoder.decode(r.view(nameLength));
  } catch {
    return r.fail('name is not valid UTF-8');
  }
  let data: Uint8Array | undefined;
  if (direction === 'out') {
    if (length === 0) r.fail('direction "out" with a transfer length of 0');
    if (r.remaining !== length) r.fail(`data-out holds ${r.remaining} bytes, the transfer length says ${length}`);
    data = r.view(length);
  } else if (direction === 'in') {
    if (length === 0) r.fail('direction "in" with a transfer length of 0');
    if (length > maxDataIn) r.fail(`data-in length ${length} is above the limit of ${maxDataIn} bytes`);
  } else if (length !== 0) {
    r.fail(`direction "none" with a transfer length of ${length}`);
  }
  r.end();
  return { device, lun, direction, flags, timeoutMs, length, cdb, name, data };
}

/**
 * RESULT body: status u8 (0 GOOD, 1 CHECK CONDITION), SCSI status byte u8,
 * sense length u8, reserved u8 (0), residue u32 (dCSWDataResidue), sense
 * bytes (as the device returned them to REQUEST SENSE), data-in (the rest).
 */
export function encodeResult(id: number, result: ResultFrame): Uint8Array {
  const sense = result.sense?.subarray(0, MAX_SENSE_BYTES);
  const w = new ByteWriter(FRAME_HEADER_BYTES + RESULT_FIXED_BYTES + (sense?.length ?? 0) + result.data.length);
  header(w, FrameType.Result, id);
  w.u8(result.status === 'good' ? 0 : 1);
  w.u8(result.statusCode);
  w.u8(sense?.length ?? 0);
  w.u8(0);
  w.u32(result.residue);
  if (sense) w.bytes(sense);
  w.bytes(result.data);
  return w.finish();
}

/** Decodes and checks a RESULT body. */
export function decodeResult(frame: Frame): ResultFrame {
  const r = new ByteReader(frame.body, 'RESULT');
  const statusCode0 = r.u8();
  if (statusCode0 > 1) r.fail(`status ${statusCode0} is not 0 (good) or 1 (check condition)`);
  const statusCode = r.u8();
  const senseLength = r.u8();
  if (senseLength > MAX_SENSE_BYTES) r.fail(`sense length ${senseLength} is above ${MAX_SENSE_BYTES}`);
  if (r.u8() !== 0) r.fail('reserved byte is not zero');
  const residue = r.u32();
  const sense = senseLength > 0 ? r.view(senseLength).slice() : undefined;
  const data = r.rest();
  return { status: statusCode0 === 0 ? 'good' : 'check-condition', statusCode, residue, sense, data };
}

const ERROR_CODES = new Set<string>(Object.values(UsbmsErrorCode));

/** Checks an ERROR body is a serialized usbms error (known code, string name and message), cause chain included. */
export function checkSerializedError(value: unknown, depth = 0): SerializedUsbmsError {
  const fail = (why: string): never => {
    throw new RemoteProtocolError(`ERROR: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('body is not an object');
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || typeof v.message !== 'string') return fail('name and message must be strings');
  if (typeof v.code !== 'string' || !ERROR_CODES.has(v.code)) return fail(`unknown error code ${String(v.code)}`);
  if (v.details !== undefined && (typeof v.details !== 'object' || v.details === null || Array.isArray(v.details))) return fail('details is not an object');
  if (v.cause !== undefined) {
    const c = v.cause as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || depth > 8) return fail('cause is not an object');
    if ('code' in c) checkSerializedError(c, depth + 1);
    else if (typeof c.name !== 'string' || typeof c.message !== 'string') return fail('cause needs a name and a message');
  }
  return v as unknown as SerializedUsbmsError;
}
