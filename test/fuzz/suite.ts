/**
 * The suite each test/fuzz/*.fuzz.test.ts runs for its platform (one file per platform, so they
 * run in parallel): the device-level fuzzer over each adapter (test/fuzz/platforms.ts: usbfs over the fake usbfs
 * kernel, node-usb and WebUSB over their fakes), with the hostile device behind it: typed errors
 * only, results within bounds, no hang, no caller buffer written after its read settled, and after
 * every close nothing left pending, open or claimed, the kernel driver given back where there is one.
 * `pnpm fuzz --count 1000000` is the full run (BENCHMARKS.md).
 */
import { describe, expect, it } from 'vitest';
import { runDeviceFuzz } from '../../packages/core/bench/device-fuzz.js';
import { fuzzPlatform, type PlatformName } from './platforms.js';

export function describeFuzz(name: PlatformName): void {
  describe(`MscDevice over ${name} under fuzzed device responses`, () => {
    it('20,000 responses: typed errors only, within bounds, no hang, the platform left clean after close', async () => {
      const kit = await fuzzPlatform(name);
      try {
        const report = await runDeviceFuzz({ count: 20_000, seed: 21, hangMs: 10_000, platform: kit.platform });
        expect(report.untyped).toEqual([]);
        expect(report.invalid).toEqual([]);
        expect(report.hangs).toBe(0);
        expect(report.batches).toBeGreaterThan(500);
        expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
        for (const error of ['ScsiCheckConditionError', 'InvalidCswError', 'PhaseError', 'AbortError', 'TimeoutError', 'DisconnectedError']) {
          expect(report.outcomes[error] ?? 0, error).toBeGreaterThan(0);
        }
      } finally {
        await kit.cleanup();
      }
    }, 120_000);

    it('a device that answers late: no caller buffer is written after its read settled', async () => {
      const kit = await fuzzPlatform(name);
      try {
        const report = await runDeviceFuzz({
          count: 10_000,
          seed: 22,
          hangMs: 10_000,
          platform: kit.platform,
          hostile: { latency: true, writesIntoDirectly: true },
        });
        expect(report.untyped).toEqual([]);
        expect(report.invalid).toEqual([]);
        expect(report.hangs).toBe(0);
        expect(report.callerBuffers).toBeGreaterThan(10);
      } finally {
        await kit.cleanup();
      }
    }, 120_000);
  });
}
