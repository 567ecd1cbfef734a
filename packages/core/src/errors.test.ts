import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import {
  AbortError,
  AccessDeniedError,
  BabbleError,
  ClosedError,
  DeviceFailedError,
  DisconnectedError,
  deserializeError,
  InterruptedSessionError,
  InvalidArgumentError,
  InvalidCswError,
  NotFoundError,
  NvmeStatusError,
  ParseError,
  PartialWriteError,
  PhaseError,
  ProtectedClassError,
  ProtocolViolationError,
  ReadOnlyError,
  RemoteProtocolError,
  ReplayMismatchError,
  ScsiCheckConditionError,
  type SerializedUsbmsError,
  serializeError,
  TimeoutError,
  TransportError,
  UnsupportedError,
  UsbmsError,
  UsbmsErrorCode,
  VerifyMismatchError,
  WriteProtectedError,
} from './errors.js';
import { decodeSense } from './sense/decode.js';

// Fixed-format sense: MEDIUM ERROR, 03/11/00 Unrecovered read error, INFORMATION = LBA 12345 (SPC-4 §4.5.3).
const FIXED_SENSE = decodeSense(Uint8Array.of(0xf0, 0, 0x03, 0, 0, 0x30, 0x39, 10, 0, 0, 0, 0, 0x11, 0, 0, 0, 0, 0));
// Descriptor-format sense: ILLEGAL REQUEST 05/24/00 with an information descriptor (SPC-4 §4.5.2.2),
// so a Uint8Array sits inside an array inside the sense data.
const DESCRIPTOR_SENSE = decodeSense(Uint8Array.of(0x72, 0x05, 0x24, 0x00, 0, 0, 0, 12, 0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00));

/**
 * One sample per code, with the details the library really attaches. Typed as a Record over the codes,
 * so a new code without a sample does not compile, and the runtime checks below catch a new class.
 */
const samples: Record<UsbmsErrorCode, () => UsbmsError> = {
  INVALID_ARGUMENT: () => new InvalidArgumentError('blocks must be a positive integer', { details: { blocks: -1 } }),
  PARSE: () => new ParseError('INQUIRY data', 'ADDITIONAL LENGTH 200 exceeds the 36 bytes received', { details: { length: 36 } }),
  TIMEOUT: () => new TimeoutError('READ(10) timed out after 5000 ms', { details: { timeoutMs: 5000, stage: 'data' } }),
  ABORTED: () => new AbortError(undefined, { cause: new DOMException('stop', 'AbortError') }),
  DISCONNECTED: () => new DisconnectedError(),
  TRANSPORT: () => new TransportError('The device stalled the CBW', { details: { tag: 7, lba: 2n ** 40n } }),
  PHASE_ERROR: () => new PhaseError(undefined, { details: { tag: 3, requested: 512, transferred: 0 } }),
  INVALID_CSW: () => new InvalidCswError('CSW tag mismatch', { details: { expectedTag: 4, tag: 9, csw: Uint8Array.of(0x55, 0x53, 0x42, 0x53) } }),
  DEVICE_FAILED: () => new DeviceFailedError('reset recovery failed', { cause: new TransportError('stall on reset') }),
  CLOSED: () => new ClosedError(),
  CHECK_CONDITION: () => new ScsiCheckConditionError('READ(10) on LUN 0 failed', FIXED_SENSE, { details: { command: 'READ(10)', lun: 0 } }),
  READ_ONLY: () => new ReadOnlyError('the device was opened read-only'),
  WRITE_PROTECTED: () => new WriteProtectedError(),
  ACCESS_DENIED: () => new AccessDeniedError('busy', { cause: new Error('LIBUSB_ERROR_BUSY'), details: { reason: 'busy' } }),
  PROTECTED_CLASS: () => new ProtectedClassError('protected class', { details: { operation: 'claimInterface' } }),
  UNSUPPORTED: () => new UnsupportedError('UAS-only device, not supported yet'),
  NOT_FOUND: () => new NotFoundError('no device 0781:5567'),
  VERIFY_MISMATCH: () => new VerifyMismatchError('read-back differs at LBA 9', { details: { lba: 9 } }),
  PROTOCOL_VIOLATION: () => new ProtocolViolationError('host broke BOT', { details: { violations: ['CBW while data pending'] } }),
  REPLAY_MISMATCH: () => new ReplayMismatchError('Replay mismatch at transcript line 9: CBW differs at byte 20', { details: { line: 9, offset: 20 } }),
  NVME_STATUS: () => new NvmeStatusError('IDENTIFY NAMESPACE failed: NVMe status 0x000b', { details: { status: 0x0b, sct: 0, sc: 0x0b, dnr: false } }),
  PARTIAL_WRITE: () =>
    new PartialWriteError(
      'WRITE(10) at LBA 8: the device took 1 of 2 blocks',
      { lba: 8, blocks: 2, blocksWritten: 1, residue: 512 },
      { cause: new TransportError('stall') },
    ),
  BABBLE: () => new BabbleError('READ(10) on LUN 0: the device sent more than the 512 bytes requested', { details: { requested: 512, lun: 0 } }),
  REMOTE_PROTOCOL: () => new RemoteProtocolError('EXECUTE: CDB length 17 is not 1-16 (BOT 1.0 §5.1)', { details: { what: 'EXECUTE', offset: 8 } }),
  INTERRUPTED_SESSION: () => new InterruptedSessionError('An exclusive session on this device ended without release'),
};

/** A real worker thread that posts back whatever it receives (postMessage both ways). */
let echo: Worker;
beforeAll(() => {
  echo = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", {
    eval: true,
  });
});
afterAll(async () => {
  await echo.terminate();
});
function throughWorker(data: SerializedUsbmsError): Promise<SerializedUsbmsError> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    echo.once('error', onError);
    echo.once('message', (message: SerializedUsbmsError) => {
      echo.off('error', onError);
      resolve(message);
    });
    echo.postMessage(data);
  });
}

const boundaries: Array<[string, (data: SerializedUsbmsError) => SerializedUsbmsError | Promise<SerializedUsbmsError>]> = [
  ['JSON', (d) => JSON.parse(JSON.stringify(d)) as SerializedUsbmsError],
  ['structuredClone', (d) => structuredClone(d)],
  ['worker postMessage', throughWorker],
  // Electron's ipcRenderer.invoke/ipcMain.handle send arguments and results with the structured clone
  // algorithm over V8's serializer: the serialized form must survive exactly that.
  ['Electron IPC (V8 structured clone of the serialized form)', (d) => v8Deserialize(v8Serialize(d)) as SerializedUsbmsError],
];

function expectSame(back: UsbmsError, original: UsbmsError): void {
  expect(back.constructor).toBe(original.constructor);
  expect(back).toBeInstanceOf(UsbmsError);
  expect(back.name).toBe(original.name);
  expect(back.code).toBe(original.code);
  expect(back.message).toBe(original.message);
  expect(back.details).toEqual(original.details);
  if (original instanceof ParseError) expect((back as ParseError).what).toBe(original.what);
  if (original instanceof ScsiCheckConditionError) {
    const sense = (back as ScsiCheckConditionError).sense;
    expect(sense).toEqual(original.sense);
    expect(sense?.raw).toBeInstanceOf(Uint8Array);
    expect(Array.from(sense?.raw ?? [])).toEqual(Array.from(original.sense?.raw ?? [1]));
  }
  if (original.cause instanceof Error) {
    expect(back.cause).toBeInstanceOf(Error);
    expect((back.cause as Error).message).toBe(original.cause.message);
    expect((back.cause as Error).name).toBe(original.cause.name);
    if (original.cause instanceof UsbmsError) expect(back.cause).toBeInstanceOf(original.cause.constructor);
  }
}

describe('every error code has a round-trip sample', () => {
  it('the samples cover every code, each built with the class of its code', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.values(UsbmsErrorCode).sort());
    for (const [code, make] of Object.entries(samples)) expect(make().code).toBe(code);
  });

  it('every exported error class has a sample (a new class without one fails here)', () => {
    const classes = (Object.values(errors) as unknown[]).filter((v): v is typeof UsbmsError => typeof v === 'function' && v.prototype instanceof UsbmsError);
    expect(classes.length).toBeGreaterThanOrEqual(Object.values(UsbmsErrorCode).length);
    const sampled = new Set(Object.values(samples).map((make) => make().constructor));
    for (const cls of classes) expect(sampled.has(cls), cls.name).toBe(true);
  });
});

describe.each(boundaries)('errors cross %s whole', (_boundary, cross) => {
  it.each(Object.values(UsbmsErrorCode))('%s', async (code) => {
    const original = samples[code]();
    const back = deserializeError(await cross(serializeError(original)));
    expectSame(back, original);
  });

  it('CHECK CONDITION with descriptor-format sense keeps each descriptor as bytes', async () => {
    const original = new ScsiCheckConditionError('INQUIRY failed', DESCRIPTOR_SENSE);
    const back = deserializeError(await cross(serializeError(original))) as ScsiCheckConditionError;
    expectSame(back, original);
    expect(back.sense?.descriptors?.[0]?.data).toBeInstanceOf(Uint8Array);
    expect(back.sense?.information).toBe(0x01_00);
  });

  it('a chain of causes comes back typed', async () => {
    const original = new DeviceFailedError('reset failed', { cause: new ScsiCheckConditionError('TUR failed', FIXED_SENSE) });
    const back = deserializeError(await cross(serializeError(original)));
    expectSame(back, original);
    expect((back.cause as ScsiCheckConditionError).sense?.raw).toBeInstanceOf(Uint8Array);
  });
});

describe('the serialized form', () => {
  it('is plain JSON data (no typed arrays or bigints left for JSON to mangle)', () => {
    const data = serializeError(samples.CHECK_CONDITION());
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(JSON.stringify(data)).toContain('"raw":{"$bytes":"f0000300003039');
  });

  it('a bare custom Error through structuredClone loses its class (why the serialized form exists)', () => {
    const cloned = structuredClone(samples.TIMEOUT());
    expect(cloned).not.toBeInstanceOf(TimeoutError);
    expect(cloned).toBeInstanceOf(Error);
  });

  it('foreign errors serialize as TRANSPORT and come back as TransportError', () => {
    const back = deserializeError(serializeError(new RangeError('boom')));
    expect(back).toBeInstanceOf(TransportError);
    expect(back.name).toBe('RangeError');
    expect(back.message).toBe('boom');
  });

  it('hostile input: unknown codes, malformed tags and sense without bytes do not crash', () => {
    const unknown = deserializeError({ name: 'X', code: 'NOPE' as UsbmsErrorCode, message: 'm' });
    expect(unknown).toBeInstanceOf(TransportError);
    const inherited = deserializeError({ name: 'X', code: 'toString' as UsbmsErrorCode, message: 'm' });
    expect(inherited).toBeInstanceOf(TransportError);
    const odd = deserializeError({
      name: 'ScsiCheckConditionError',
      code: 'CHECK_CONDITION',
      message: 'm',
      details: { sense: { $bytes: 'zz' }, x: { $bigint: '1e3' } },
    });
    expect(odd).toBeInstanceOf(ScsiCheckConditionError);
    expect((odd as ScsiCheckConditionError).sense).toBeUndefined();
    expect(odd.details).toEqual({ sense: { $bytes: 'zz' }, x: { $bigint: '1e3' } });
  });
});

describe('withoutStack', () => {
  it('builds the error as asked, with no frames in its stack, and puts the stack limit back', () => {
    const limit = Error.stackTraceLimit;
    const e = errors.withoutStack(() => new AbortError('Not submitted', { details: { notSubmitted: true } }));
    expect(e).toBeInstanceOf(AbortError);
    expect(e.message).toBe('Not submitted');
    expect(e.details).toEqual({ notSubmitted: true });
    expect(e.stack?.split('\n')).toEqual(['AbortError: Not submitted']);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('puts the stack limit back when building throws', () => {
    const limit = Error.stackTraceLimit;
    expect(() =>
      errors.withoutStack(() => {
        throw new TypeError('boom');
      }),
    ).toThrow('boom');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
