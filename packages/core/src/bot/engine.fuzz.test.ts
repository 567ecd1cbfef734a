import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsbmsError } from '../errors.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions } from '../transport.js';
import { type BotCommandRequest, type BotCommandResult, BotEngine } from './engine.js';
import { cswBytes } from './testing/scripted-transport.js';

type InAnswer = { status: 'ok' | 'stall' | 'babble'; bytes: Uint8Array } | { ourCsw: { residue: number; status: number; signature: number; tagDelta: number } };

/**
 * A hostile device: bulk-in answers come from a fuzzed list (then garbage),
 * bulk-out and control requests from fuzzed statuses. It records every
 * bulk-in length the host asked for, to prove the host never asks for (and
 * so never allocates) more than the command's own length or a CSW.
 */
class HostileTransport implements MscTransport {
  readonly info = { maxPacketSizeIn: 512, maxPacketSizeOut: 512 };
  readonly requestedIn: number[] = [];
  lastTag = 0;
  constructor(
    readonly answers: InAnswer[],
    readonly outStall: boolean[],
    /** With true, the engine reads the status of no-data and data-out commands early (earlyStatus). */
    readonly concurrentPipes = false,
    /** With true, a command's stages are handed over together (MscTransport.queuesTransfers). */
    readonly queuesTransfers = false,
  ) {}
  async bulkOut(data: Uint8Array, _o: TransferOptions): Promise<BulkOutResult> {
    if (data.length === 31) this.lastTag = new DataView(data.buffer, data.byteOffset + 4, 4).getUint32(0, true);
    const stall = this.outStall.shift() ?? false;
    return { status: stall ? 'stall' : 'ok', bytesWritten: stall ? 0 : data.length };
  }
  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    this.requestedIn.push(length);
    const a = this.answers.shift() ?? { status: 'ok', bytes: new Uint8Array(0) };
    let status: BulkInResult['status'];
    let bytes: Uint8Array;
    if ('ourCsw' in a) {
      status = 'ok';
      bytes = cswBytes({ ...a.ourCsw, tag: (this.lastTag + a.ourCsw.tagDelta) >>> 0 });
    } else {
      status = a.status;
      bytes = a.bytes;
    }
    const fitted = bytes.subarray(0, Math.min(length, bytes.length));
    if (options.into) {
      options.into.set(fitted);
      return { status, data: options.into.subarray(0, fitted.length) };
    }
    return { status, data: fitted };
  }
  async clearHalt(_pipe: 'in' | 'out', _o: TransferOptions): Promise<void> {}
  async classRequest(_r: ClassRequest, _o: TransferOptions): Promise<ControlResult> {
    return { status: 'ok', data: new Uint8Array(0) };
  }
  async close(): Promise<void> {}
  onDisconnect(): () => void {
    return () => {};
  }
}

const answer: fc.Arbitrary<InAnswer> = fc.oneof(
  fc.record({
    status: fc.constantFrom('ok' as const, 'stall' as const, 'babble' as const),
    bytes: fc.uint8Array({ maxLength: 600 }),
  }),
  fc.record({
    ourCsw: fc.record({
      residue: fc.oneof(fc.nat(1024), fc.integer({ min: 0, max: 0xffffffff })),
      status: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 255 })),
      signature: fc.constantFrom(0x53425355, 0x55425355, 0),
      tagDelta: fc.constantFrom(0, 0, 0, 1),
    }),
  }),
);

const request: fc.Arbitrary<BotCommandRequest> = fc
  .record({
    direction: fc.constantFrom('none' as const, 'in' as const, 'out' as const),
    length: fc.nat(520),
    opcode: fc.constantFrom(0x00, 0x12, 0x25, 0x28, 0x2a),
  })
  .map(({ direction, length, opcode }) => {
    const n = direction === 'none' ? 0 : length;
    const base = { lun: 0, cdb: Uint8Array.of(opcode, 0, 0, 0, 0, 0), direction, length: n, timeoutMs: 10_000 };
    return direction === 'out' ? { ...base, data: new Uint8Array(n) } : base;
  });

describe('BotEngine under arbitrary device bytes (property-based)', () => {
  it('only typed errors, results within bounds, no oversize reads, and the engine stays usable', async () => {
    await fc.assert(
      fc.asyncProperty(
        request,
        fc.array(answer, { maxLength: 5 }),
        fc.array(fc.boolean(), { maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (req, answers, outStall, strictResidue, ignoreResidue, concurrentPipes, queues) => {
          const transport = new HostileTransport(answers, outStall, concurrentPipes || queues, queues);
          const failures: unknown[] = [];
          const bot = new BotEngine(transport, { strictResidue, quirks: { ignoreResidue }, onFailure: (e) => failures.push(e) });
          if (queues) {
            // A TEST UNIT READY whose early status read brings its CSW: the engine then queues data-in reads too.
            answers.unshift({ ourCsw: { residue: 0, status: 0, signature: 0x53425355, tagDelta: 0 } });
            outStall.unshift(false);
            await bot.command({ lun: 0, cdb: Uint8Array.of(0), direction: 'none', length: 0, timeoutMs: 1000 });
          }
          try {
            const r = await bot.command(req);
            expect(r.residue).toBeGreaterThanOrEqual(0);
            expect(r.residue).toBeLessThanOrEqual(req.length);
            if (req.direction === 'in') expect(r.data.length).toBe(req.length - r.residue);
            else expect(r.data.length).toBe(0);
          } catch (error) {
            expect(error).toBeInstanceOf(UsbmsError);
          }
          for (const n of transport.requestedIn) expect(n).toBeLessThanOrEqual(Math.max(req.length, 13));
          // Recovery always succeeds on this device, so the engine must never report the device failed.
          expect(failures).toEqual([]);
          // Any outcome leaves the engine able to run the next command on a device that now behaves.
          transport.answers.length = 0;
          transport.outStall.length = 0;
          transport.answers.push({ ourCsw: { residue: 0, status: 0, signature: bot.cswSignature ?? 0x53425355, tagDelta: 0 } });
          await expect(bot.command({ lun: 0, cdb: Uint8Array.of(0), direction: 'none', length: 0, timeoutMs: 1000 })).resolves.toMatchObject({
            status: 'passed',
            residue: 0,
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('arbitrary 0-40 byte CSWs: passed/failed results only when the CSW was valid and meaningful', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ minLength: 13, maxLength: 13 }).map((b) => Uint8Array.of(0x55, 0x53, 0x42, 0x53, 1, 0, 0, 0, ...b.subarray(8))),
        ),
        fc.nat(600),
        async (bytes, length) => {
          const transport = new HostileTransport(
            [
              { status: 'ok', bytes: new Uint8Array(length) },
              { status: 'ok', bytes },
            ],
            [],
          );
          const bot = new BotEngine(transport);
          let outcome: BotCommandResult | undefined;
          try {
            outcome = await bot.command({ lun: 0, cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), direction: 'in', length, timeoutMs: 1000 });
          } catch (error) {
            expect(error).toBeInstanceOf(UsbmsError);
          }
          if (outcome !== undefined) {
            // Random bytes only pass when they happen to be a CSW with our tag (1) and a status of 0 or 1.
            expect(bytes.length).toBe(13);
            expect(new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true)).toBe(1);
            expect(bytes[12]).toBeLessThanOrEqual(1);
            expect(outcome.residue).toBeLessThanOrEqual(length);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
