/**
 * Cross-package concurrency test: 1,000 concurrent callers through the one
 * CommandQueue and the BotEngine against the simulated device. Every promise
 * settles exactly once, each caller gets exactly its own data, and the
 * simulator (which checks the host) never sees an interleaved command.
 */
import { AbortError, TimeoutError, UsbmsError } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
// BotEngine and CommandQueue are imported from source until index.ts exports them.
import { type BotCommandRequest, type BotCommandResult, BotEngine } from '../../packages/core/src/bot/engine.js';
import { CommandQueue } from '../../packages/core/src/queue.js';

const BLOCK = 512;
const CALLERS = 1000;
const VENDOR_ECHO = 0xc0; // vendor data-in: 64 bytes derived from the caller id in CDB bytes 2-5
const VENDOR_STALL = 0xc2; // vendor no-data command that the device hangs on (fault), for in-flight abort/timeout

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes unique to (caller, generation): a misplaced or mixed-up buffer shows. */
function callerPattern(caller: number, generation: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (caller * 131 + generation * 17 + i * 7 + (i >> 8)) & 0xff;
  // Stamp the caller id and generation at the front as well.
  out[0] = caller >>> 8;
  out[1] = caller & 0xff;
  out[2] = generation;
  return out;
}

function cdb10(opcode: number, lba: number, blocks: number): Uint8Array {
  return Uint8Array.of(opcode, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, blocks >>> 8, blocks & 0xff, 0);
}

function vendorCdb(opcode: number, caller: number): Uint8Array {
  return Uint8Array.of(opcode, 0, caller >>> 24, (caller >>> 16) & 0xff, (caller >>> 8) & 0xff, caller & 0xff, 0, 0, 0, 0);
}

function newSim(): SimulatedDevice {
  return new SimulatedDevice({
    luns: [{ blocks: 4096, writeCache: false, vendor: 'USBMS', product: 'Stress Disk' }],
    vendorCommand: (cdb) => {
      if (cdb[0] === VENDOR_ECHO) {
        const caller = new DataView(cdb.buffer, cdb.byteOffset).getUint32(2, false);
        return { status: 'good', data: callerPattern(caller, 9, 64) };
      }
      if (cdb[0] === VENDOR_STALL) return { status: 'good' };
      return undefined;
    },
  });
}

/** One job: the command plus, after CHECK CONDITION, REQUEST SENSE, as one unit. */
async function job(bot: BotEngine, req: BotCommandRequest, signal: AbortSignal): Promise<BotCommandResult> {
  const r = await bot.command({ ...req, signal });
  if (r.status === 'failed') {
    const sense = await bot.command({ lun: req.lun, cdb: Uint8Array.of(0x03, 0, 0, 0, 18, 0), direction: 'in', length: 18, timeoutMs: 2000, signal });
    throw new Error(`unexpected CHECK CONDITION: sense ${Array.from(sense.data.subarray(0, 14), (b) => b.toString(16)).join(' ')}`);
  }
  return r;
}

type Kind = 'read' | 'write' | 'inquiry' | 'vendor' | 'stuck';

interface Caller {
  id: number;
  kind: Kind;
  /** How the caller ends it early, if at all. */
  cut: 'none' | 'abort' | 'timeout';
  settled: number;
  value?: BotCommandResult;
  error?: unknown;
}

describe('1,000 concurrent callers through CommandQueue + BotEngine against the simulator', () => {
  it('settle exactly once, get their own data, never interleave', async () => {
    const random = prng(0x5eed_2026);
    const sim = newSim();
    const bot = new BotEngine(sim.transport);
    const queue = new CommandQueue();
    // VENDOR_STALL never completes on its own: the device hangs at the CSW until a reset.
    sim.inject({ kind: 'hang', opcode: VENDOR_STALL, stage: 'csw', times: Infinity });

    // Every caller owns LBA = its id. Seed the initial contents through the same path.
    const initial = new Uint8Array(CALLERS * BLOCK);
    for (let i = 0; i < CALLERS; i++) initial.set(callerPattern(i, 1, BLOCK), i * BLOCK);
    for (let lba = 0; lba < CALLERS; lba += 100) {
      await queue.run(({ signal }) =>
        job(
          bot,
          {
            lun: 0,
            cdb: cdb10(0x2a, lba, 100),
            direction: 'out',
            length: 100 * BLOCK,
            data: initial.subarray(lba * BLOCK, (lba + 100) * BLOCK),
            timeoutMs: 5000,
          },
          signal,
        ),
      );
    }

    const callers: Caller[] = [];
    const promises: Promise<unknown>[] = [];
    for (let id = 0; id < CALLERS; id++) {
      const r = random();
      const kind: Kind = r < 0.3 ? 'read' : r < 0.6 ? 'write' : r < 0.72 ? 'inquiry' : r < 0.95 ? 'vendor' : 'stuck';
      const cutRoll = random();
      // A stuck command must be cut short; others are cut ~15% of the time.
      const cut: Caller['cut'] = kind === 'stuck' ? (cutRoll < 0.5 ? 'abort' : 'timeout') : cutRoll < 0.08 ? 'abort' : cutRoll < 0.15 ? 'timeout' : 'none';
      const caller: Caller = { id, kind, cut, settled: 0 };
      callers.push(caller);

      let req: BotCommandRequest;
      switch (kind) {
        case 'read':
          req = { lun: 0, cdb: cdb10(0x28, id, 1), direction: 'in', length: BLOCK, timeoutMs: 5000 };
          break;
        case 'write': {
          const data = callerPattern(id, 2, BLOCK);
          req = { lun: 0, cdb: cdb10(0x2a, id, 1), direction: 'out', length: BLOCK, data, timeoutMs: 5000 };
          break;
        }
        case 'inquiry': {
          // A per-caller allocation length, so each caller's answer differs in size.
          const length = 5 + (id % 32);
          req = { lun: 0, cdb: Uint8Array.of(0x12, 0, 0, 0, length, 0), direction: 'in', length, timeoutMs: 5000 };
          break;
        }
        case 'vendor':
          req = { lun: 0, cdb: vendorCdb(VENDOR_ECHO, id), direction: 'in', length: 64, timeoutMs: 5000 };
          break;
        case 'stuck':
          req = { lun: 0, cdb: vendorCdb(VENDOR_STALL, id), direction: 'none', length: 0, timeoutMs: 10_000 };
          break;
      }
      const controller = new AbortController();
      const timeoutMs = cut === 'timeout' ? 1 + Math.floor(random() * 20) : undefined;
      const priority = random() < 0.1 ? 1 : 0;
      const promise = queue.run(({ signal }) => job(bot, req, signal), {
        priority,
        signal: controller.signal,
        name: `${kind} #${id}`,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      promise.then(
        (value) => {
          caller.settled++;
          caller.value = value;
        },
        (error: unknown) => {
          caller.settled++;
          caller.error = error;
        },
      );
      promises.push(promise.catch(() => undefined));
      if (cut === 'abort') {
        const delay = kind === 'stuck' ? 0 : Math.floor(random() * 40);
        // Some abort while queued, some in flight (a stuck command is certainly in flight at some point).
        setTimeout(() => controller.abort(), delay);
        if (kind === 'stuck') {
          // Make sure the abort also lands while the stuck command is running.
          const poll = setInterval(() => {
            if (caller.settled > 0) clearInterval(poll);
            else if (sim.hung) controller.abort();
          }, 1);
        }
      }
    }

    await Promise.all(promises);
    await queue.onIdle();

    // Exactly once, each.
    expect(callers.filter((c) => c.settled !== 1)).toEqual([]);

    let good = 0;
    for (const c of callers) {
      if (c.error !== undefined) {
        // Only callers that cut their command short may fail, and only with the matching typed error.
        expect(c.cut, `caller ${c.id} (${c.kind}) failed: ${String(c.error)}`).not.toBe('none');
        expect(c.error).toBeInstanceOf(UsbmsError);
        expect(c.error).toBeInstanceOf(c.cut === 'abort' ? AbortError : TimeoutError);
        continue;
      }
      expect(c.kind, `stuck caller ${c.id} cannot succeed`).not.toBe('stuck');
      good++;
      const r = c.value;
      if (!r) throw new Error('unreachable');
      expect(r.status).toBe('passed');
      switch (c.kind) {
        case 'read':
          expect(Array.from(r.data), `caller ${c.id} read`).toEqual(Array.from(callerPattern(c.id, 1, BLOCK)));
          break;
        case 'write':
          expect(r.residue).toBe(0);
          break;
        case 'inquiry':
          expect(r.data.length).toBe(5 + (c.id % 32));
          expect(r.data[0]).toBe(0x00); // direct-access block device
          break;
        case 'vendor':
          expect(Array.from(r.data), `caller ${c.id} vendor`).toEqual(Array.from(callerPattern(c.id, 9, 64)));
          break;
        default:
          break;
      }
    }
    expect(good).toBeGreaterThan(CALLERS / 2);
    // Cuts of every sort happened: some aborted, some timed out, some of them while in flight.
    expect(callers.some((c) => c.error instanceof AbortError)).toBe(true);
    expect(callers.some((c) => c.error instanceof TimeoutError)).toBe(true);
    expect(sim.stats.bulkOnlyResets).toBeGreaterThan(0);

    // The device holds exactly what the callers' successful writes put there.
    sim.clearFaults();
    const check = await queue.run(({ signal }) =>
      job(bot, { lun: 0, cdb: cdb10(0x28, 0, CALLERS), direction: 'in', length: CALLERS * BLOCK, timeoutMs: 5000 }, signal),
    );
    for (const c of callers) {
      const block = Array.from(check.data.subarray(c.id * BLOCK, (c.id + 1) * BLOCK));
      if (c.kind === 'write' && c.value) {
        expect(block, `caller ${c.id} write landed`).toEqual(Array.from(callerPattern(c.id, 2, BLOCK)));
      } else if (c.kind === 'write') {
        // Cut short: either it never reached the device or it completed there before the cut.
        const old = Array.from(callerPattern(c.id, 1, BLOCK));
        const updated = Array.from(callerPattern(c.id, 2, BLOCK));
        expect([JSON.stringify(old), JSON.stringify(updated)]).toContain(JSON.stringify(block));
      } else {
        expect(block, `block ${c.id} untouched`).toEqual(Array.from(callerPattern(c.id, 1, BLOCK)));
      }
    }

    // The simulator checks the host: no CBW before the previous CSW, no overlapping commands, no malformed CBWs.
    expect(sim.violations).toEqual([]);
    expect(sim.interleavings()).toEqual([]);
    sim.assertClean();
  });
});
