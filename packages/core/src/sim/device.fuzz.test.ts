import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSW_LENGTH, decodeCsw } from '../bot/wrappers.js';
import { UsbmsError } from '../errors.js';
import { SimulatedDevice } from './device.js';
import { rawResetRecovery, runRawCommand } from './raw-host.js';

/** Hostile hosts: whatever the CBW/CDB says, the simulator answers in protocol or fails with a typed error. */
describe('simulator under arbitrary host input (fast-check)', () => {
  const command = fc.record({
    cdb: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    lun: fc.integer({ min: 0, max: 3 }),
    direction: fc.constantFrom('none' as const, 'in' as const, 'out' as const),
    length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8192 }), fc.constantFrom(13, 36, 512, 4096)),
  });

  it('every arbitrary CDB gets a valid CSW with its tag (or a Phase Error followed by reset recovery), and the device stays usable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 8 }), async (commands) => {
        const sim = new SimulatedDevice({ luns: [{ blocks: 64 }, { mediumPresent: false }], unitAttentionOnReset: true });
        let tag = 100;
        for (const c of commands) {
          const t = tag++;
          const r = await runRawCommand(sim.transport, {
            cdb: c.cdb,
            lun: c.lun,
            direction: c.direction,
            length: c.direction === 'none' ? 0 : c.length,
            ...(c.direction === 'out' ? { data: new Uint8Array(c.length) } : {}),
            tag: t,
            timeoutMs: 2000,
          });
          expect(r.csw).toBeDefined();
          const csw = r.csw ?? decodeCsw(new Uint8Array(CSW_LENGTH));
          expect(csw.signature).toBe(0x53425355);
          expect(csw.tag).toBe(t);
          expect([0, 1, 2]).toContain(csw.status);
          if (csw.status !== 2) expect(csw.residue).toBeLessThanOrEqual(c.direction === 'none' ? 0 : c.length);
          if (c.direction === 'in') expect(r.data.length).toBeLessThanOrEqual(c.length);
          if (csw.status === 2) await rawResetRecovery(sim.transport);
        }
        sim.assertClean();
        const tur = await runRawCommand(sim.transport, { cdb: [0, 0, 0, 0, 0, 0], timeoutMs: 2000 });
        expect(tur.csw?.tag).toBeDefined();
      }),
      { numRuns: 150 },
    );
  });

  it('arbitrary 0-40 byte "CBWs" are either processed or recorded as malformed, with typed errors only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.boolean(), async (bytes, throwOnViolation) => {
        const sim = new SimulatedDevice({ throwOnViolation });
        try {
          const r = await sim.transport.bulkOut(bytes, { timeoutMs: 1000 });
          expect(['ok', 'stall']).toContain(r.status);
        } catch (error) {
          expect(error).toBeInstanceOf(UsbmsError);
        }
        if (sim.violations.length > 0) {
          expect(sim.violations[0]?.kind).toBe('malformed-cbw');
          expect(sim.halted).toEqual({ in: true, out: true });
        }
        // Whatever happened, reset recovery brings it back.
        await rawResetRecovery(sim.transport);
        const tur = await runRawCommand(sim.transport, { cdb: [0, 0, 0, 0, 0, 0], timeoutMs: 1000 });
        expect(tur.csw?.signature).toBe(0x53425355);
      }),
      { numRuns: 300 },
    );
  });
});
