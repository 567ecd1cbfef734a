/** Hostile input: platform error texts, device ids, /proc files. Never a crash, always a typed answer. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, UsbmsError } from '@usbms/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyUsbError, type UsbOperation } from './map-error.js';
import { parseDeviceId } from './open.js';
import { findBlockDeviceUses } from './sysfs.js';

const operations: UsbOperation[] = [
  'enumerate',
  'open',
  'claim',
  'bulk-in',
  'bulk-out',
  'control-in',
  'control-out',
  'clear-halt',
  'reset',
  'detach-kernel-driver',
];

describe('fuzz', () => {
  it('classifyUsbError returns a result or a typed error for any thrown value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => new Error(s)),
          fc.constantFrom('Stall', 'Cancelled', 'Disconnected', 'Fault', 'endpoint not found').map((d) => new Error(`transferIn error: ${d}`)),
          fc.anything({ withNullPrototype: true, withObjectString: true }),
        ),
        fc.constantFrom(...operations),
        fc.boolean(),
        (thrown, operation, disconnected) => {
          const c = classifyUsbError(thrown, { operation, disconnected });
          if (c.kind === 'error') expect(c.error).toBeInstanceOf(UsbmsError);
          else expect(['bulk-in', 'bulk-out', 'control-in', 'control-out']).toContain(operation);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parseDeviceId accepts VID:PID[:SERIAL] and rejects everything else with InvalidArgumentError', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const f = parseDeviceId(text);
          expect(f.vendorId).toBeLessThanOrEqual(0xffff);
          expect(f.productId).toBeLessThanOrEqual(0xffff);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
      }),
      { numRuns: 2000 },
    );
    expect(parseDeviceId('0781:5567:AB:CD')).toEqual({ vendorId: 0x0781, productId: 0x5567, serialNumber: 'AB:CD' });
  });

  it('findBlockDeviceUses survives garbage in mountinfo and swaps', async () => {
    const root = await mkdtemp(join(tmpdir(), 'usbms-fuzz-'));
    try {
      await mkdir(join(root, 'sys/class/block/sdb'), { recursive: true });
      await writeFile(join(root, 'sys/class/block/sdb/dev'), '8:16\n');
      await mkdir(join(root, 'proc/self'), { recursive: true });
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 400 }), fc.string({ maxLength: 200 }), async (mountinfo, swaps) => {
          await writeFile(join(root, 'proc/self/mountinfo'), mountinfo);
          await writeFile(join(root, 'proc/swaps'), swaps);
          const uses = await findBlockDeviceUses(['sdb'], { sysRoot: join(root, 'sys'), procRoot: join(root, 'proc') });
          for (const u of uses) expect(u.device).toBe('sdb');
        }),
        { numRuns: 200 },
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
