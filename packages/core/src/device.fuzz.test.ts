/**
 * The device-level fuzzer (bench/device-fuzz.ts) at a size CI can afford:
 * MscDevice against a hostile transport, concurrent commands with aborts,
 * close() awaited after every batch under a hang detector. `pnpm fuzz
 * --count 1000000` runs the same generator at full size (BENCHMARKS.md).
 */
import { describe, expect, it } from 'vitest';
import { runDeviceFuzz } from '../bench/device-fuzz.js';

describe('MscDevice under fuzzed device responses', () => {
  it('20,000 responses: typed errors only, results within bounds, open() and close() never hang', async () => {
    const report = await runDeviceFuzz({ count: 20_000, seed: 12, hangMs: 10_000 });
    expect(report.untyped).toEqual([]);
    expect(report.invalid).toEqual([]);
    expect(report.hangs).toBe(0);
    expect(report.batches).toBeGreaterThan(500);
    // The generator reaches success, CHECK CONDITION, protocol failures and partial writes.
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    for (const name of ['ScsiCheckConditionError', 'InvalidCswError', 'PhaseError', 'AbortError', 'PartialWriteError']) {
      expect(report.outcomes[name] ?? 0, name).toBeGreaterThan(0);
    }
  }, 120_000);
});
