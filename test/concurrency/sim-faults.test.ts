/**
 * Every fault the simulator can inject, through CommandQueue + BotEngine:
 * the command recovers (or fails with the right typed error), the next
 * command succeeds, and the simulator saw no protocol violation.
 */
import { AbortError, DeviceFailedError, DisconnectedError, InvalidCswError, PhaseError, TimeoutError } from '@usbms/core';
import { type SimFault, SimulatedDevice, type SimulatedDeviceOptions } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
// BotEngine and CommandQueue are imported from source until index.ts exports them.
import { type BotCommandRequest, type BotCommandResult, BotEngine, type BotEngineOptions } from '../../packages/core/src/bot/engine.js';
import { CommandQueue } from '../../packages/core/src/queue.js';

const BLOCK = 512;

function blockPattern(lba: number): Uint8Array {
  return Uint8Array.from({ length: BLOCK }, (_, i) => (lba * 29 + i * 13 + (i >> 7)) & 0xff);
}

function cdb10(opcode: number, lba: number, blocks: number): Uint8Array {
  return Uint8Array.of(opcode, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, blocks >>> 8, blocks & 0xff, 0);
}

const READ = 0x28;
const WRITE = 0x2a;

const read = (lba: number, blocks = 1, timeoutMs = 2000): BotCommandRequest => ({
  lun: 0,
  cdb: cdb10(READ, lba, blocks),
  direction: 'in',
  length: blocks * BLOCK,
  timeoutMs,
});
const write = (lba: number, data: Uint8Array, timeoutMs = 2000): BotCommandRequest => ({
  lun: 0,
  cdb: cdb10(WRITE, lba, data.length / BLOCK),
  direction: 'out',
  length: data.length,
  data,
  timeoutMs,
});
const testUnitReady: BotCommandRequest = { lun: 0, cdb: new Uint8Array(6), direction: 'none', length: 0, timeoutMs: 2000 };

async function harness(simOptions: SimulatedDeviceOptions = {}, engineOptions: BotEngineOptions = {}) {
  const sim = new SimulatedDevice({ luns: [{ blocks: 256, writeCache: false }], ...simOptions });
  const queue = new CommandQueue();
  // As MscDevice wires them: the engine reports a failed or vanished device, the queue rejects from then on.
  const bot = new BotEngine(sim.transport, { onFailure: (error) => queue.fail(error), ...engineOptions });
  sim.transport.onDisconnect(() => queue.fail(new DisconnectedError()));
  const exec = (req: BotCommandRequest, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<BotCommandResult> =>
    queue.run(({ signal }) => bot.command({ ...req, signal }), options);
  const sense = async () => {
    const r = await exec({ lun: 0, cdb: Uint8Array.of(0x03, 0, 0, 0, 18, 0), direction: 'in', length: 18, timeoutMs: 2000 });
    return { key: (r.data[2] ?? 0) & 0x0f, asc: r.data[12], ascq: r.data[13] };
  };
  // Known contents, and a first good CSW (so the standard signature is the learned one).
  const contents = new Uint8Array(16 * BLOCK);
  for (let lba = 0; lba < 16; lba++) contents.set(blockPattern(lba), lba * BLOCK);
  await expect(exec(write(0, contents))).resolves.toMatchObject({ status: 'passed', residue: 0 });
  /** The next command succeeds and returns the right data; the simulator saw no host bug. */
  const expectHealthy = async () => {
    const r = await exec(read(3, 2));
    expect(r.status).toBe('passed');
    expect(Array.from(r.data)).toEqual(Array.from(contents.subarray(3 * BLOCK, 5 * BLOCK)));
    expect(sim.violations).toEqual([]);
    sim.assertClean();
  };
  return { sim, bot, queue, exec, sense, expectHealthy, contents };
}

describe('simulator faults through CommandQueue + BotEngine', () => {
  it('stall-data-in at once (case 4): clear halt, CSW, full residue', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'stall-data-in', opcode: READ });
    const r = await h.exec(read(0, 4));
    expect(r.residue).toBe(4 * BLOCK);
    expect(r.data.length).toBe(0);
    await h.expectHealthy();
  });

  it('stall-data-in after some bytes (case 5): the bytes before the stall are kept', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'stall-data-in', opcode: READ, afterBytes: 1024 });
    const r = await h.exec(read(0, 4));
    expect(r.residue).toBe(4 * BLOCK - 1024);
    expect(Array.from(r.data)).toEqual(Array.from(h.contents.subarray(0, 1024)));
    await h.expectHealthy();
  });

  it('stall-data-out (case 9/11): clear halt out, CSW reports failure, sense DATA PHASE ERROR', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'stall-data-out', opcode: WRITE });
    const r = await h.exec(write(20, new Uint8Array(2 * BLOCK).fill(7)));
    expect(r.status).toBe('failed');
    expect(r.residue).toBe(2 * BLOCK);
    await expect(h.sense()).resolves.toEqual({ key: 0x0b, asc: 0x4b, ascq: 0x00 });
    await h.expectHealthy();
  });

  it('stall-csw once: clear halt, CSW read again, command passes', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'stall-csw', opcode: READ });
    await expect(h.exec(read(1))).resolves.toMatchObject({ status: 'passed', residue: 0 });
    expect(h.sim.stats.clearHalts).toBeGreaterThan(0);
    await h.expectHealthy();
  });

  it('stall-csw twice: reset recovery, InvalidCswError', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'stall-csw', opcode: READ, count: 2 });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(InvalidCswError);
    expect(h.sim.stats.bulkOnlyResets).toBe(1);
    await h.expectHealthy();
  });

  it('bad-csw-signature: reset recovery, InvalidCswError', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'bad-csw-signature', opcode: READ });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(InvalidCswError);
    await h.expectHealthy();
  });

  it('wrong-tag: reset recovery, InvalidCswError', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'wrong-tag', opcode: READ });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(InvalidCswError);
    await h.expectHealthy();
  });

  it('wrong-tag with the ignoreTag quirk: the command passes', async () => {
    const h = await harness({}, { quirks: { ignoreTag: true } });
    h.sim.inject({ kind: 'wrong-tag', opcode: READ });
    await expect(h.exec(read(1))).resolves.toMatchObject({ status: 'passed' });
    await h.expectHealthy();
  });

  it('phase-error: reset recovery, PhaseError', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'phase-error', opcode: READ });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(PhaseError);
    expect(h.sim.stats.bulkOnlyResets).toBe(1);
    await h.expectHealthy();
  });

  it('short-data: residue reported, only the data sent is returned', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'short-data', opcode: READ, missingBytes: 300 });
    const r = await h.exec(read(2, 2));
    expect(r.status).toBe('passed');
    expect(r.residue).toBe(300);
    expect(Array.from(r.data)).toEqual(Array.from(h.contents.subarray(2 * BLOCK, 4 * BLOCK - 300)));
    await h.expectHealthy();
  });

  it('long-data (babble, case 7): the CSW reports phase error -> reset recovery, PhaseError', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'long-data', opcode: READ, extraBytes: 100 });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(PhaseError);
    await h.expectHealthy();
  });

  it('zero-length-csw: read again, command passes', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'zero-length-csw', opcode: READ });
    await expect(h.exec(read(1))).resolves.toMatchObject({ status: 'passed' });
    await h.expectHealthy();
  });

  it('skip-data: the 13-byte "data" is recognised as the CSW', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'skip-data', opcode: READ });
    const r = await h.exec(read(1, 4));
    expect(r.dataPhaseSkipped).toBe(true);
    expect(r.data.length).toBe(0);
    expect(r.residue).toBe(4 * BLOCK);
    await h.expectHealthy();
  });

  it('get-max-lun-stall: one LUN; without the fault a 3-LUN device reports 2', async () => {
    const h = await harness({ luns: [{ blocks: 256, writeCache: false }, {}, {}] });
    await expect(h.queue.run(() => h.bot.getMaxLun())).resolves.toBe(2);
    h.sim.inject({ kind: 'get-max-lun-stall' });
    await expect(h.queue.run(() => h.bot.getMaxLun())).resolves.toBe(0);
    await h.expectHealthy();
  });

  it.each(['cbw', 'data', 'csw'] as const)('hang at %s: the transfer times out, reset recovery, TimeoutError', async (stage) => {
    const h = await harness();
    h.sim.inject({ kind: 'hang', opcode: READ, stage });
    await expect(h.exec(read(1, 1, 100))).rejects.toBeInstanceOf(TimeoutError);
    expect(h.sim.hung).toBe(false);
    await h.expectHealthy();
  });

  it('hang, cut by the queue timeout: the caller gets TimeoutError at once, recovery runs before the next job', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'hang', opcode: READ, stage: 'csw' });
    const stuck = h.exec(read(1, 1, 60_000), { timeoutMs: 50 });
    const next = h.exec(read(3, 2));
    await expect(stuck).rejects.toBeInstanceOf(TimeoutError);
    await expect(next).resolves.toMatchObject({ status: 'passed' });
    expect(h.sim.stats.bulkOnlyResets).toBe(1);
    await h.expectHealthy();
  });

  it('hang, aborted by the caller: AbortError, recovery, next command works', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'hang', opcode: READ, stage: 'data' });
    const controller = new AbortController();
    const stuck = h.exec(read(1, 1, 60_000), { signal: controller.signal });
    await expect.poll(() => h.sim.hung).toBe(true);
    controller.abort();
    await expect(stuck).rejects.toBeInstanceOf(AbortError);
    await h.expectHealthy();
  });

  it('disconnect mid-command: in-flight and queued reject with DisconnectedError, nothing hangs; after reconnect a new session works', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'disconnect', opcode: READ, stage: 'data' });
    const results = await Promise.allSettled([h.exec(read(1)), h.exec(read(2)), h.exec(testUnitReady)]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DisconnectedError);
    }
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(DisconnectedError);
    await h.queue.onIdle();
    const transport = h.sim.reconnect();
    const bot = new BotEngine(transport);
    await expect(bot.command(read(4))).resolves.toMatchObject({ status: 'passed', data: h.contents.subarray(4 * BLOCK, 5 * BLOCK) });
    expect(h.sim.violations).toEqual([]);
  });

  it('not-ready for 2 commands: CHECK CONDITION with NOT READY sense, then the command passes', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'not-ready', times: 2 });
    for (let i = 0; i < 2; i++) {
      await expect(h.exec(read(1))).resolves.toMatchObject({ status: 'failed' });
      await expect(h.sense()).resolves.toEqual({ key: 0x02, asc: 0x04, ascq: 0x01 });
    }
    await h.expectHealthy();
  });

  it('unit-attention after reset: reset recovery, then UNIT ATTENTION 29/00 once, then the command passes', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'unit-attention', trigger: 'reset' });
    await h.queue.run(() => h.bot.resetRecovery());
    await expect(h.exec(testUnitReady)).resolves.toMatchObject({ status: 'failed' });
    await expect(h.sense()).resolves.toEqual({ key: 0x06, asc: 0x29, ascq: 0x00 });
    await h.expectHealthy();
  });

  it('residue-too-large: clamped to the request and recorded (default)', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'residue-too-large', opcode: READ, extraBytes: 512 });
    const r = await h.exec(read(1));
    expect(r.residue).toBe(BLOCK);
    expect(r.deviceResidue).toBe(2 * BLOCK);
    await h.expectHealthy();
  });

  it('residue-too-large with strictResidue: reset recovery, InvalidCswError', async () => {
    const h = await harness({}, { strictResidue: true });
    h.sim.inject({ kind: 'residue-too-large', opcode: READ });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(InvalidCswError);
    await h.expectHealthy();
  });

  it('medium-error: CHECK CONDITION with MEDIUM ERROR 03/11/00; other blocks still read', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'medium-error', lba: 7 });
    await expect(h.exec(read(6, 2))).resolves.toMatchObject({ status: 'failed' });
    await expect(h.sense()).resolves.toEqual({ key: 0x03, asc: 0x11, ascq: 0x00 });
    await h.expectHealthy();
  });

  it('reset-stall: the class reset stalls, the port reset recovers', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'reset-stall' });
    h.sim.inject({ kind: 'phase-error', opcode: READ });
    await expect(h.exec(read(1))).rejects.toBeInstanceOf(PhaseError);
    expect(h.sim.stats.portResets).toBe(1);
    await h.expectHealthy();
  });

  it('reset-stall and port-reset-fail: DeviceFailedError naming the cause, reported to the queue; later commands fail fast', async () => {
    const h = await harness();
    h.sim.inject({ kind: 'reset-stall' });
    h.sim.inject({ kind: 'port-reset-fail' });
    h.sim.inject({ kind: 'phase-error', opcode: READ });
    const error = await h.exec(read(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceFailedError);
    expect((error as DeviceFailedError).cause).toBeDefined();
    expect(h.queue.failure).toBe(error);
    const commands = h.sim.log.length;
    await expect(h.exec(read(2))).rejects.toBeInstanceOf(DeviceFailedError);
    expect(h.sim.log.length).toBe(commands);
    expect(h.sim.violations).toEqual([]);
  });

  it('covers every fault kind the simulator offers', () => {
    // `satisfies` makes tsc fail when the simulator gains a fault kind that is not tested here.
    const covered = {
      'stall-data-in': true,
      'stall-data-out': true,
      'stall-csw': true,
      'bad-csw-signature': true,
      'wrong-tag': true,
      'phase-error': true,
      'short-data': true,
      'long-data': true,
      'zero-length-csw': true,
      'skip-data': true,
      'get-max-lun-stall': true,
      hang: true,
      disconnect: true,
      'not-ready': true,
      'unit-attention': true,
      'residue-too-large': true,
      'medium-error': true,
      'reset-stall': true,
      'port-reset-fail': true,
    } satisfies Record<SimFault['kind'], true>;
    expect(Object.keys(covered).length).toBe(19);
  });
});
