import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deserializeError, RemoteProtocolError, ScsiCheckConditionError, serializeError } from '../errors.js';
import { decodeSense } from '../sense/decode.js';
import {
  checkSerializedError,
  decodeExecute,
  decodeFrame,
  decodeResult,
  decodeValueBody,
  ExecuteFlag,
  encodeExecute,
  encodeResult,
  encodeValueFrame,
  FrameType,
} from './frames.js';
import { LengthPrefixedDecoder, lengthPrefixed } from './port.js';
import { decodeValue, encodeValue } from './values.js';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

describe('remote frames (docs/remote-protocol.md)', () => {
  it('EXECUTE golden bytes: READ(10) of one block', () => {
    const cdb = Uint8Array.of(0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0);
    const frame = encodeExecute(7, {
      device: 1,
      lun: 0,
      direction: 'in',
      flags: ExecuteFlag.Run,
      timeoutMs: 5000,
      length: 512,
      cdb,
      name: 'R',
      data: undefined,
    });
    expect(hex(frame)).toBe(
      [
        '01 10 00 00 07 00 00 00', // header: version 1, EXECUTE, reserved, request id 7
        '01 00 00 00', // device 1
        '00 01 01 0a', // LUN 0, direction in, flags Run, CDB length 10
        '88 13 00 00', // timeout 5000 ms
        '00 02 00 00', // transfer length 512
        '01', // name length 1
        '28 00 00 00 00 05 00 00 01 00 00 00 00 00 00 00', // CDB, zero-padded to 16
        '52', // "R"
      ].join(' '),
    );
    const decoded = decodeExecute(decodeFrame(frame, 'client', 1 << 20), 1 << 20);
    expect(decoded).toMatchObject({ device: 1, lun: 0, direction: 'in', flags: 1, timeoutMs: 5000, length: 512, name: 'R' });
    expect(decoded.cdb).toEqual(cdb);
  });

  it('RESULT golden bytes: CHECK CONDITION with fixed sense', () => {
    const sense = Uint8Array.of(0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0);
    const frame = encodeResult(9, { status: 'check-condition', statusCode: 2, residue: 36, sense, data: new Uint8Array(0) });
    expect(hex(frame.subarray(0, 16))).toBe('01 90 00 00 09 00 00 00 01 02 12 00 24 00 00 00');
    const r = decodeResult(decodeFrame(frame, 'server', 1 << 20));
    expect(r).toMatchObject({ status: 'check-condition', statusCode: 2, residue: 36 });
    expect(decodeSense(r.sense ?? new Uint8Array(0)).asc).toBe(0x24);
  });

  it('refuses bad headers and bodies with typed errors', () => {
    const ok = encodeExecute(1, { device: 1, lun: 0, direction: 'none', flags: 0, timeoutMs: 0, length: 0, cdb: Uint8Array.of(0), name: '', data: undefined });
    const bad = (mutate: (b: Uint8Array) => void): Uint8Array => {
      const b = ok.slice();
      mutate(b);
      return b;
    };
    expect(() =>
      decodeFrame(
        bad((b) => (b[0] = 2)),
        'client',
        1024,
      ),
    ).toThrow(/version 2/);
    expect(() =>
      decodeFrame(
        bad((b) => (b[1] = 0x90)),
        'client',
        1024,
      ),
    ).toThrow(RemoteProtocolError);
    expect(() =>
      decodeFrame(
        bad((b) => (b[2] = 1)),
        'client',
        1024,
      ),
    ).toThrow(/reserved/);
    expect(() => decodeFrame(ok.subarray(0, 5), 'client', 1024)).toThrow(/shorter/);
    expect(() => decodeFrame(ok, 'client', 10)).toThrow(/limit/);
    const body = (mutate: (b: Uint8Array) => void) => () => decodeExecute(decodeFrame(bad(mutate), 'client', 1024), 1024);
    expect(body((b) => (b[13] = 3))).toThrow(/direction 3/);
    expect(body((b) => (b[15] = 17))).toThrow(/CDB length 17/);
    expect(body((b) => (b[15] = 0))).toThrow(/CDB length 0/);
    expect(body((b) => (b[14] = 0x80))).toThrow(/flags/);
    expect(body((b) => (b[20] = 1))).toThrow(/"none" with a transfer length/);
    expect(body((b) => (b[24] = 65))).toThrow(/name/);
    // data-in larger than the client may ask for
    const big = encodeExecute(1, {
      device: 1,
      lun: 0,
      direction: 'in',
      flags: 0,
      timeoutMs: 0,
      length: 1 << 30,
      cdb: Uint8Array.of(0x28),
      name: '',
      data: undefined,
    });
    expect(() => decodeExecute(decodeFrame(big, 'client', 1024), 1 << 20)).toThrow(/above the limit/);
  });

  it('carries a typed error whole: class, code, sense and cause', () => {
    const sense = decodeSense(Uint8Array.of(0x70, 0, 0x03, 0, 0, 0x30, 0x39, 0x0a, 0, 0, 0, 0, 0x11, 0, 0, 0, 0, 0));
    const error = new ScsiCheckConditionError('READ(10) failed', sense, { details: { lun: 0 }, cause: new Error('inner') });
    const frame = encodeValueFrame(FrameType.Error, 3, serializeError(error));
    const back = deserializeError(checkSerializedError(decodeValueBody(decodeFrame(frame, 'server', 1 << 20), 'ERROR')));
    expect(back).toBeInstanceOf(ScsiCheckConditionError);
    expect(back.code).toBe('CHECK_CONDITION');
    expect((back.details?.sense as { raw: Uint8Array } | undefined)?.raw).toEqual(sense.raw);
    expect((back.cause as Error).message).toBe('inner');
    expect(() => checkSerializedError({ name: 'x', message: 'y', code: '__proto__' })).toThrow(RemoteProtocolError);
  });

  it('values round-trip and refuse prototype keys, bad tags and lying lengths', () => {
    const value = { a: [1, 'two', null, undefined, true, false], b: Uint8Array.of(1, 2, 3), c: { d: -0.5 } };
    expect(decodeValue(encodeValue(value))).toEqual(value);
    const evil = new Uint8Array([8, 1, 0, 0, 0, 5, 9, 0, 0, 0, ...new TextEncoder().encode('__proto__'), 1]);
    expect(() => decodeValue(evil)).toThrow(/not allowed/);
    expect(() => decodeValue(Uint8Array.of(42))).toThrow(/unknown value tag/);
    expect(() => decodeValue(Uint8Array.of(7, 0xff, 0xff, 0xff, 0xff))).toThrow(RemoteProtocolError);
    expect(() => decodeValue(Uint8Array.of(6, 0xff, 0xff, 0xff, 0x7f))).toThrow(RemoteProtocolError);
    const deep = new Uint8Array(40).fill(7);
    expect(() => decodeValue(deep)).toThrow(RemoteProtocolError);
  });

  it('fuzz: any bytes decode or throw RemoteProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const from of ['client', 'server'] as const) {
          try {
            const frame = decodeFrame(bytes, from, 1 << 16);
            if (frame.type === FrameType.Execute) decodeExecute(frame, 1 << 16);
            else if (frame.type === FrameType.Result) decodeResult(frame);
            else decodeValueBody(frame, 'body');
          } catch (error) {
            if (!(error instanceof RemoteProtocolError)) throw error;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('stream framing: frames split and joined at any point; oversized lengths refused before buffering', () => {
    const frames = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(1000).fill(7)];
    const stream = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
    let at = 0;
    for (const f of frames) {
      stream.set(lengthPrefixed(f), at);
      at += 4 + f.length;
    }
    for (const step of [1, 3, 7, 500, stream.length]) {
      const d = new LengthPrefixedDecoder(4096);
      const out: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      expect(out).toEqual(frames);
    }
    expect(() => new LengthPrefixedDecoder(100).push(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(RemoteProtocolError);
  });
});
