/**
 * The device-level fuzzer (bench/device-fuzz.ts) at a size CI can afford:
 * MscDevice against a hostile transport, concurrent commands with aborts,
 * close() awaited after every batch under a hang detector. `pnpm fuzz
 * --count 1000000` runs the same generator at full size (BENCHMARKS.md);
 * test/fuzz runs it over the usbfs transport too.
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
    // The generator reaches success, CHECK CONDITION, protocol failures, aborts, time limits and partial writes.
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    for (const name of ['ScsiCheckConditionError', 'InvalidCswError', 'PhaseError', 'AbortError', 'TimeoutError', 'PartialWriteError']) {
      expect(report.outcomes[name] ?? 0, name).toBeGreaterThan(0);
    }
  }, 120_000);

  it('transfers that answer late and write into the caller buffer as they end: no buffer is written after its read settled', async () => {
    const report = await runDeviceFuzz({ count: 20_000, seed: 7, hangMs: 10_000, hostile: { latency: true, writesIntoDirectly: true } });
    expect(report.untyped).toEqual([]);
    expect(report.invalid).toEqual([]);
    expect(report.hangs).toBe(0);
    // Reads into caller buffers were aborted while a transfer was writing into them.
    expect(report.callerBuffers).toBeGreaterThan(20);
    expect(report.lateWrites).toBeGreaterThan(0);
  }, 120_000);
});
