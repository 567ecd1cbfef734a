/**
 * BotEngine `earlyStatus`: for commands without a data-in stage the CSW read is
 * submitted right after the CBW on transports with independent pipes. Checked
 * against the simulator in both device behaviours (NAK until the CSW is ready,
 * like most devices and Linux's f_mass_storage; STALL the early IN token, like
 * QEMU's usb-storage) and through every failure path that leaves the early
 * read pending.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DisconnectedError, TimeoutError, TransportError } from '../errors.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from '../sim/index.js';
import { type TraceEvent, Tracer } from '../trace.js';
import type { BulkInOptions, BulkInResult, BulkOutResult, MscTransport, TransferOptions } from '../transport.js';
import { BotEngine, type BotEngineOptions } from './engine.js';

const TUR = new Uint8Array(6);
const write10 = (lba: number, blocks: number): Uint8Array => new Uint8Array([0x2a, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, blocks, 0]);
const read10 = (lba: number, blocks: number): Uint8Array => new Uint8Array([0x28, 0, 0, 0, lba >> 8, lba & 0xff, 0, 0, blocks, 0]);

/** Wraps a transport and logs when each bulk transfer starts and ends. */
class Recorder implements MscTransport {
  readonly log: string[] = [];
  /** Hand CBWs to the device this much later (an IN token then reaches the device before the CBW, as happens on xHCI). */
  delayCbwMs = 0;
  /** Corrupt the next CBW's signature, so the device finds it not valid (BOT 1.0 §6.6.1). */
  corruptNextCbw = false;
  /** Report the next CBW as stalled without handing it to the device (so the device never answers the early IN). */
  stallNextCbwUnseen = false;
  /** Fail the next data-out with a transport error without handing it to the device. */
  failNextDataOut = false;
  constructor(readonly inner: MscTransport) {}
  get info() {
    return this.inner.info;
  }
  get concurrentPipes(): boolean {
    return this.inner.concurrentPipes === true;
  }
  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    const what = data.length === 31 ? 'cbw' : 'data-out';
    this.log.push(`${what}>`);
    try {
      if (what === 'cbw' && this.delayCbwMs > 0) await new Promise((r) => setTimeout(r, this.delayCbwMs));
      if (what === 'cbw' && this.stallNextCbwUnseen) {
        this.stallNextCbwUnseen = false;
        return { status: 'stall', bytesWritten: 0 };
      }
      if (what === 'data-out' && this.failNextDataOut) {
        this.failNextDataOut = false;
        throw new TransportError('EPIPE on data-out');
      }
      if (what === 'cbw' && this.corruptNextCbw) {
        this.corruptNextCbw = false;
        const bad = data.slice();
        bad[0] = 0;
        return await this.inner.bulkOut(bad, options);
      }
      return await this.inner.bulkOut(data, options);
    } finally {
      this.log.push(`<${what}`);
    }
  }
  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    const what = length === 13 ? 'in13' : 'data-in';
    this.log.push(`${what}>`);
    try {
      const r = await this.inner.bulkIn(length, options);
      this.log.push(`<${what}:${r.status}`);
      return r;
    } catch (error) {
      this.log.push(`<${what}:${(error as Error).name}`);
      throw error;
    }
  }
  clearHalt(pipe: 'in' | 'out', options: TransferOptions) {
    this.log.push(`clear-halt-${pipe}`);
    return this.inner.clearHalt(pipe, options);
  }
  classRequest(...args: Parameters<MscTransport['classRequest']>) {
    this.log.push(args[0].request);
    return this.inner.classRequest(...args);
  }
  close() {
    return this.inner.close();
  }
  onDisconnect(listener: () => void) {
    return this.inner.onDisconnect(listener);
  }
}

function setup(sim: SimulatedDeviceOptions = {}, engine: BotEngineOptions = {}) {
  const device = new SimulatedDevice({ luns: [{ blocks: 2048 }], ...sim });
  const transport = new Recorder(device.transport);
  const events: TraceEvent[] = [];
  const tracer = new Tracer();
  tracer.on((e) => events.push(e));
  const bot = new BotEngine(transport, { tracer, ...engine });
  return { device, transport, bot, events };
}

const tur = (bot: BotEngine, timeoutMs = 2000) => bot.command({ lun: 0, cdb: TUR, direction: 'none', length: 0, timeoutMs });
const write = (bot: BotEngine, lba: number, data: Uint8Array, timeoutMs = 2000) =>
  bot.command({ lun: 0, cdb: write10(lba, data.length / 512), direction: 'out', length: data.length, data, timeoutMs });
const read = (bot: BotEngine, lba: number, blocks: number) =>
  bot.command({ lun: 0, cdb: read10(lba, blocks), direction: 'in', length: blocks * 512, timeoutMs: 2000 });

describe('BotEngine earlyStatus on a device that NAKs until its CSW is ready', () => {
  it('submits the CSW read before the CBW has completed (TEST UNIT READY)', async () => {
    const { bot, transport, device } = setup();
    expect(bot.earlyStatus).toBe(true);
    expect((await tur(bot)).status).toBe('passed');
    expect(transport.log.slice(0, 2)).toEqual(['cbw>', 'in13>']);
    expect(transport.log).toContain('<in13:ok');
    expect(device.violations).toEqual([]);
  });

  it('keeps the CSW read pending through the data-out stage of a WRITE, and the data lands', async () => {
    const { bot, transport, device } = setup();
    const data = new Uint8Array(8 * 512).map((_, i) => (i * 7) & 0xff);
    const r = await write(bot, 10, data);
    expect(r).toMatchObject({ status: 'passed', residue: 0 });
    const log = transport.log;
    expect(log.indexOf('in13>')).toBeLessThan(log.indexOf('data-out>'));
    expect(log.indexOf('<data-out')).toBeLessThan(log.indexOf('<in13:ok'));
    expect((await read(bot, 10, 8)).data).toEqual(data);
    expect(device.violations).toEqual([]);
  });

  it('does not read early for a data-in command (the first IN is the data)', async () => {
    const { bot, transport } = setup();
    await read(bot, 0, 4);
    expect(transport.log).toEqual(['cbw>', '<cbw', 'data-in>', '<data-in:ok', 'in13>', '<in13:ok']);
  });

  it('is off when asked, or when the transport does not declare independent pipes', async () => {
    const off = setup({}, { earlyStatus: false });
    expect(off.bot.earlyStatus).toBe(false);
    await tur(off.bot);
    expect(off.transport.log).toEqual(['cbw>', '<cbw', 'in13>', '<in13:ok']);
    const sim = new SimulatedDevice();
    const { concurrentPipes: _, ...serial } = sim.transport;
    expect(new BotEngine(serial as MscTransport).earlyStatus).toBe(false);
  });

  it('a stalled data-out stage is cleared before the (early) CSW is taken (BOT 1.0 §6.7.3)', async () => {
    const { bot, transport, device } = setup();
    device.inject({ kind: 'stall-data-out', afterBytes: 1024 });
    const r = await write(bot, 0, new Uint8Array(4096));
    expect(r.status).toBe('failed');
    expect(r.residue).toBe(4096 - 1024);
    const log = transport.log;
    expect(log.indexOf('clear-halt-out')).toBeGreaterThan(log.indexOf('<data-out'));
    expect(bot.earlyStatus).toBe(true);
    expect((await tur(bot)).status).toBe('passed');
  });

  it('a stalled CSW is recovered as before; like a stalled early token, it turns early reads off', async () => {
    const { bot, device } = setup();
    device.inject({ kind: 'stall-csw', opcode: 0x00 });
    expect((await tur(bot)).status).toBe('passed');
    expect(bot.earlyStatus).toBe(false); // a stall of the early read is not told apart from a CSW stall: stop
    expect((await tur(bot)).status).toBe('passed');
    expect(device.violations).toEqual([]);
  });
});

describe('BotEngine earlyStatus on a device that STALLs early IN tokens (QEMU usb-storage)', () => {
  it('the first command recovers with clear halt + CSW read, then the engine stops reading early', async () => {
    const { bot, transport, device, events } = setup({ stallEarlyIn: true });
    transport.delayCbwMs = 5; // the IN token gets there first
    expect((await tur(bot)).status).toBe('passed');
    transport.delayCbwMs = 0;
    expect(bot.earlyStatus).toBe(false);
    expect(transport.log).toContain('clear-halt-in');
    expect(events.some((e) => e.type === 'recovery' && e.step === 'clear-halt-in' && /sent with the CBW was stalled/.test(e.detail ?? ''))).toBe(true);
    transport.log.length = 0;
    expect((await tur(bot)).status).toBe('passed');
    expect(transport.log).toEqual(['cbw>', '<cbw', 'in13>', '<in13:ok']);
    expect(device.stats.bulkOnlyResets).toBe(0);
    expect(device.violations).toEqual([]);
  });

  it('a WRITE whose early CSW read is stalled during data-out still writes the data', async () => {
    const { bot, device } = setup({ stallEarlyIn: true });
    const data = new Uint8Array(16 * 512).map((_, i) => (i * 13 + 5) & 0xff);
    expect(await write(bot, 100, data)).toMatchObject({ status: 'passed', residue: 0 });
    expect(bot.earlyStatus).toBe(false);
    expect((await read(bot, 100, 16)).data).toEqual(data);
    expect(device.stats.bulkOnlyResets).toBe(0);
    expect(device.violations).toEqual([]);
  });
});

describe('BotEngine earlyStatus: failures while the early read is pending', () => {
  it('a hung data-out stage times out; recovery waits for the early read, then the next command works', async () => {
    const { bot, transport, device } = setup();
    device.inject({ kind: 'hang', stage: 'data' });
    await expect(write(bot, 0, new Uint8Array(2048), 300)).rejects.toBeInstanceOf(TimeoutError);
    const log = transport.log;
    // The early read settled before the Bulk-Only reset went out.
    expect(log.findIndex((l) => l.startsWith('<in13'))).toBeLessThan(log.indexOf('bulk-only-reset'));
    expect(device.stats.bulkOnlyResets).toBe(1);
    expect((await tur(bot)).status).toBe('passed');
    expect(device.violations).toEqual([]);
  });

  it('a hung status stage: the early read times out, reset recovery runs, the next command works', async () => {
    const { bot, device } = setup();
    device.inject({ kind: 'hang', stage: 'csw' });
    await expect(tur(bot, 300)).rejects.toBeInstanceOf(TimeoutError);
    expect((await tur(bot)).status).toBe('passed');
    expect(device.violations).toEqual([]);
  });

  it('a CSW with the wrong tag read early leads to reset recovery and a typed error, like a late one', async () => {
    const { bot, device } = setup();
    device.inject({ kind: 'wrong-tag', opcode: 0x00 });
    await expect(tur(bot)).rejects.toMatchObject({ code: 'INVALID_CSW' });
    expect(device.stats.bulkOnlyResets).toBe(1);
    expect((await tur(bot)).status).toBe('passed');
  });

  it('a disconnect while both transfers are pending rejects at once', async () => {
    const { bot, device } = setup({ commandDelayMs: 10_000 });
    const pending = tur(bot, 60_000);
    setTimeout(() => device.disconnect(), 20);
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(DisconnectedError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("one abort listener on a caller's signal that serves command after command, none left once a command failed; an abort still cancels the early read", async () => {
    const { bot, transport } = setup();
    const controller = new AbortController();
    const signal = controller.signal;
    const run = () => bot.command({ lun: 0, cdb: TUR, direction: 'none', length: 0, timeoutMs: 2000, signal });
    for (let i = 0; i < 20; i++) expect((await run()).status).toBe('passed');
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    transport.stallNextCbwUnseen = true;
    await expect(run()).rejects.toThrow(/stalled the CBW/);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect((await run()).status).toBe('passed');
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    // The device holds its CSW back: the early read is pending when the caller gives up.
    transport.delayCbwMs = 200;
    const pending = run().catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('user')), 20);
    expect(await pending).toBeInstanceOf(Error);
    expect(transport.log.filter((l) => l === '<in13:AbortError').length).toBeGreaterThan(0);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('a CBW stall the device never saw: the pending early read is cancelled, the error reported at once (issue 12 defect 4)', async () => {
    const { bot, device, transport } = setup();
    transport.stallNextCbwUnseen = true;
    const started = Date.now();
    const error = await tur(bot, 3000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/stalled the CBW/);
    expect(Date.now() - started).toBeLessThan(1500);
    // The early read was cancelled before reset recovery went out.
    expect(transport.log.indexOf('<in13:AbortError')).toBeGreaterThan(-1);
    expect(transport.log.indexOf('<in13:AbortError')).toBeLessThan(transport.log.indexOf('bulk-only-reset'));
    expect((await tur(bot)).status).toBe('passed');
    expect(device.violations).toEqual([]);
  });

  it('a transport error on data-out: the pending early read is cancelled, the error reported at once (issue 12 defect 4)', async () => {
    const { bot, device, transport } = setup();
    transport.failNextDataOut = true;
    const started = Date.now();
    await expect(write(bot, 0, new Uint8Array(1024), 3000)).rejects.toThrow(/EPIPE on data-out/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(device.stats.bulkOnlyResets).toBe(1);
    expect((await tur(bot)).status).toBe('passed');
    expect((await write(bot, 0, new Uint8Array(1024))).status).toBe('passed');
  });

  it('the caller aborting while only the early status read is pending ends it at once', async () => {
    const { bot, device } = setup();
    device.inject({ kind: 'hang', stage: 'csw' });
    const controller = new AbortController();
    const pending = bot.command({ lun: 0, cdb: TUR, direction: 'none', length: 0, timeoutMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await tur(bot)).status).toBe('passed');
  });

  it('a stalled CBW (device rejects the command block) is reset without waiting for the deadline', async () => {
    // The device stalls both pipes on a CBW that is not valid (BOT 1.0 §6.6.1): the early read sees that stall at once.
    const { bot, device, transport } = setup({ throwOnViolation: false });
    transport.corruptNextCbw = true;
    const started = Date.now();
    await expect(tur(bot, 30_000)).rejects.toBeInstanceOf(TransportError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(transport.log).toContain('bulk-only-reset');
    expect(device.stats.bulkOnlyResets).toBe(1);
    expect(device.violations.map((v) => v.kind)).toEqual(['malformed-cbw']);
    expect((await tur(bot)).status).toBe('passed');
  });
});
