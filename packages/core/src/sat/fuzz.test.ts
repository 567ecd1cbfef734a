/** Every SAT decoder, fed arbitrary bytes, returns a value or throws ParseError, never anything else. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { decodeSense } from '../sense/decode.js';
import { decodeIdentifyDevice } from './identify.js';
import { parseAtaPassThrough } from './pass-through.js';
import { ataReadOnlyRefusal } from './read-only.js';
import { ataRegistersFromSense, decodeAtaStatusReturnDescriptor, decodeFixedAtaReturn } from './registers.js';
import {
  decodeExtendedSelfTestLog,
  decodeLogDirectory,
  decodeSelfTestLog,
  decodeSmartData,
  decodeSmartThresholds,
  decodeSummaryErrorLog,
  formatSmartRaw,
  type SmartRawFormat,
} from './smart.js';
import { decodeAtaInformationVpd } from './vpd.js';

const decoders: Array<[string, (data: Uint8Array) => unknown]> = [
  ['IDENTIFY DEVICE', decodeIdentifyDevice],
  ['SMART data', (d) => decodeSmartData(d, decodeSmartThresholds(d))],
  ['SMART thresholds', decodeSmartThresholds],
  ['log directory', decodeLogDirectory],
  ['self-test log', decodeSelfTestLog],
  ['extended self-test log', decodeExtendedSelfTestLog],
  ['summary error log', decodeSummaryErrorLog],
  ['VPD 89h', decodeAtaInformationVpd],
  ['ATA Status Return descriptor', decodeAtaStatusReturnDescriptor],
  ['fixed ATA return', decodeFixedAtaReturn],
  ['registers from sense', (d) => ataRegistersFromSense(decodeSense(d))],
];

function expectParseErrorOrValue(decode: (data: Uint8Array) => unknown, data: Uint8Array): void {
  try {
    decode(data);
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
  }
}

describe('SAT decoders under arbitrary bytes', () => {
  for (const [name, decode] of decoders) {
    it(`${name}: a value or ParseError`, () => {
      // Sizes around the structures' lengths (512, 572, 1024) and short ones.
      const sizes = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 500, max: 600 }), fc.constant(1024));
      fc.assert(
        fc.property(
          sizes.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
          (data) => expectParseErrorOrValue(decode, data),
        ),
        { numRuns: 300 },
      );
    });
  }

  it('decoded registers stay within their widths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (data) => {
        const r = decodeAtaStatusReturnDescriptor(data);
        expect(r.lba).toBeLessThan(2 ** 48);
        expect(r.count).toBeLessThan(2 ** 16);
        expect(Number.isSafeInteger(r.lba)).toBe(true);
      }),
    );
  });

  it('CDB parsing and the read-only judgement never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 16 }), fc.constantFrom(0x85, 0xa1, 0x28), (data, opcode) => {
        const cdb = Uint8Array.from([opcode, ...data]);
        parseAtaPassThrough(cdb);
        const refusal = ataReadOnlyRefusal(cdb);
        if (opcode === 0x28) expect(refusal).toBeUndefined();
      }),
    );
  });

  it('raw value formats never throw and always give text', () => {
    const formats: SmartRawFormat[] = ['raw48', 'raw16(raw16)', 'raw24(raw8)', 'raw16(avg16)', 'tempminmax'];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }), fc.constantFrom(...formats), (raw, format) => {
        expect(formatSmartRaw(raw, format).length).toBeGreaterThan(0);
      }),
    );
  });
});
