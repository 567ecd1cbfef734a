/**
 * Property-based fuzzing: every decoder, fed arbitrary bytes, either returns a
 * value or throws ParseError, never anything else, and never returns more bytes
 * than it was given (no allocation sized by a device-declared length).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acmeReadFirmwareVersion } from '../../../../docs/examples/vendor-commands.js';
import { ParseError } from '../errors.js';
import { decodeSense } from '../sense/decode.js';
import { formatSense } from '../sense/format.js';
import { decodeReadCapacity10, decodeReadCapacity16, decodeReadFormatCapacities } from './capacity.js';
import { inquiryVpd } from './commands.js';
import {
  decodeBlockDeviceCharacteristics,
  decodeBlockLimits,
  decodeDeviceIdentification,
  decodeInquiry,
  decodeSupportedVpdPages,
  decodeUnitSerialNumber,
  decodeVpdPage,
} from './inquiry.js';
import { decodeModeSense6, decodeModeSense10 } from './mode-sense.js';
import { decodeReportLuns, reportedLunNumbers } from './report-luns.js';

/** Counts every byte in the Uint8Arrays reachable from a decoded value. */
function bytesReachable(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  if (value instanceof Uint8Array) return value.length;
  let total = 0;
  for (const v of Object.values(value)) total += bytesReachable(v, seen);
  return total;
}

const decoders: Array<[string, (data: Uint8Array) => unknown]> = [
  ['INQUIRY', decodeInquiry],
  ['VPD header', (d) => decodeVpdPage(d)],
  ['VPD 0x00', decodeSupportedVpdPages],
  ['VPD 0x80', decodeUnitSerialNumber],
  ['VPD 0x83', decodeDeviceIdentification],
  ['VPD 0xB0', decodeBlockLimits],
  ['VPD 0xB1', decodeBlockDeviceCharacteristics],
  ['VPD generic', (d) => inquiryVpd(0x89).decode(d)],
  ['READ CAPACITY(10)', decodeReadCapacity10],
  ['READ CAPACITY(16)', decodeReadCapacity16],
  ['READ FORMAT CAPACITIES', decodeReadFormatCapacities],
  ['MODE SENSE(6)', decodeModeSense6],
  ['MODE SENSE(10)', decodeModeSense10],
  ['REPORT LUNS', decodeReportLuns],
  ['REPORT LUNS numbers', reportedLunNumbers],
  ['sense', (d) => formatSense(decodeSense(d))],
  ['vendor example', (d) => acmeReadFirmwareVersion().decode(d)],
];

/** Arbitrary bytes, plus bytes whose header is steered towards each decoder's valid forms. */
function input(header: fc.Arbitrary<number[]>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(header, fc.uint8Array({ maxLength: 300 })).map(([h, rest]) => Uint8Array.from([...h, ...rest])),
  );
}

const steered = fc.oneof(
  // VPD headers with the page codes above and huge page lengths.
  fc.tuple(fc.nat(255), fc.constantFrom(0x00, 0x80, 0x83, 0x89, 0xb0, 0xb1), fc.nat(255), fc.nat(255)).map((t) => [...t]),
  // Sense response codes with huge additional lengths.
  fc
    .tuple(fc.constantFrom(0x70, 0x71, 0x72, 0x73, 0xf0, 0xf2), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
    .map((t) => [...t]),
  // Mode parameter headers with large block descriptor lengths, LONGLBA set.
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.constantFrom(0, 1), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => [...t]),
  // REPORT LUNS list lengths that are multiples of 8.
  fc.nat(0x1fff_ffff).map((n) => [(n * 8) >>> 24, ((n * 8) >>> 16) & 0xff, ((n * 8) >>> 8) & 0xff, (n * 8) & 0xff, 0, 0, 0, 0]),
);

describe('fuzzed decoders only throw ParseError', () => {
  it.each(decoders)('%s', (_name, decode) => {
    fc.assert(
      fc.property(input(steered), (data) => {
        // A decoder may return views into `data` (several may overlap), never new bytes sized by the device.
        try {
          const value = decode(data);
          const reachable = bytesReachable(value);
          if (reachable > 4 * data.length + 64) throw new Error(`decoder returned ${reachable} bytes from ${data.length}`);
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
        }
      }),
      { numRuns: 1500, seed: 0x5c51 },
    );
  });

  it('sense decoding of any 0x70-0x73 buffer of 3+ bytes never throws and stays within the buffer', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x70, 0x71, 0x72, 0x73), fc.uint8Array({ minLength: 2, maxLength: 300 }), (code, rest) => {
        const data = Uint8Array.from([code, ...rest]);
        const s = decodeSense(data);
        expect(s.raw.length).toBeLessThanOrEqual(data.length);
        expect(s.raw.buffer).toBe(data.buffer);
        expect(s.senseKey).toBeGreaterThanOrEqual(0);
        expect(s.senseKey).toBeLessThanOrEqual(15);
        if (s.information !== undefined) expect(Number.isSafeInteger(s.information)).toBe(true);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('decoders honour byteOffset of sub-array views', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), (prefix, body) => {
        const backing = new Uint8Array(prefix.length + body.length);
        backing.set(prefix);
        backing.set(body, prefix.length);
        const view = backing.subarray(prefix.length);
        const run = (d: Uint8Array): string => {
          try {
            return JSON.stringify(decodeModeSense10(d), (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
          } catch (error) {
            return (error as Error).message;
          }
        };
        expect(run(view)).toBe(run(body.slice()));
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
