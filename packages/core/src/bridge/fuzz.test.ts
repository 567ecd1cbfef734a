/**
 * Property-based fuzzing of the NVMe decoders: fed arbitrary bytes, each returns a
 * value or throws ParseError, never anything else, and allocates nothing sized by
 * a device-declared count (the outputs are bounded by the input length).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { SimNvmeDrive } from '../sim/nvme-drive.js';
import { decodeNvmeErrorLog, decodeNvmeIdentifyController, decodeNvmeIdentifyNamespace, decodeNvmeSmartHealth } from './nvme.js';
import { decodeJmicronNvmeResponse } from './nvme-bridges.js';

const decoders: Array<[string, (data: Uint8Array) => unknown, () => Uint8Array]> = [
  ['Identify Controller', decodeNvmeIdentifyController, () => new SimNvmeDrive().identifyController()],
  ['Identify Namespace', decodeNvmeIdentifyNamespace, () => new SimNvmeDrive().identifyNamespace()],
  ['SMART/Health', decodeNvmeSmartHealth, () => new SimNvmeDrive().smartLog()],
  ['Error Information', decodeNvmeErrorLog, () => new SimNvmeDrive().errorLog()],
  ['JMicron response', decodeJmicronNvmeResponse, () => Uint8Array.of(0x4e, 0x56, 0x4d, 0x45, ...new Array<number>(508).fill(0))],
];

function decodesOrParseError(decode: (data: Uint8Array) => unknown, data: Uint8Array): void {
  try {
    const value = decode(data) as Record<string, unknown> | unknown[];
    if (Array.isArray(value)) expect(value.length).toBeLessThanOrEqual(data.length / 64);
    if (value !== null && typeof value === 'object' && 'powerStateDescriptors' in value)
      expect((value.powerStateDescriptors as unknown[]).length).toBeLessThanOrEqual(32);
    if (value !== null && typeof value === 'object' && 'lbaFormats' in value) expect((value.lbaFormats as unknown[]).length).toBeLessThanOrEqual(64);
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
  }
}

describe.each(decoders)('%s decoder', (_name, decode, valid) => {
  it('arbitrary bytes: a value or ParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4200 }), (data) => decodesOrParseError(decode, data)),
      { numRuns: 300 },
    );
  });
  it('valid data with random bytes flipped and random truncation: a value or ParseError', () => {
    const base = valid();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }), fc.nat(base.length), (flips, cut) => {
        const data = base.slice(0, cut);
        for (const [at, value] of flips) if (at < data.length) data[at] = value;
        decodesOrParseError(decode, data);
      }),
      { numRuns: 300 },
    );
  });
});
