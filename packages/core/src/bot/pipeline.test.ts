import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { type BotCommandRequest, BotEngine, MAX_PIPELINE } from './engine.js';
import { csw, RESET_RECOVERY, ScriptedTransport, type Step } from './testing/scripted-transport.js';

const READ10 = Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
const CBW: Step = { op: 'out' };
const read = (extra: Partial<BotCommandRequest> = {}): BotCommandRequest => ({ lun: 0, cdb: READ10, direction: 'in', length: 512, timeoutMs: 1000, ...extra });
const block = (seed: number): Step => ({ op: 'in', data: new Uint8Array(512).fill(seed) });

// A transport that does not queue transfers (node-usb, WebUSB): the commands go one after the other.
describe('BotEngine.pipeline on a transport that runs one transfer at a time', () => {
  it('runs every command and returns their results when each passed in full', async () => {
    const t = new ScriptedTransport([CBW, block(1), csw(), CBW, block(2), csw(), CBW, block(3), csw()]);
    const outcome = await new BotEngine(t).pipeline([read(), read(), read()]);
    expect(outcome.results.map((r) => r.data[0])).toEqual([1, 2, 3]);
    expect(outcome.result).toBeUndefined();
    expect(outcome.error).toBeUndefined();
    expect(t.violations).toEqual([]);
  });

  it('stops at the first command that did not pass in full and hands back its result; nothing after it is sent', async () => {
    const t = new ScriptedTransport([CBW, block(1), csw(), CBW, block(2), csw({ status: 1 })]);
    const outcome = await new BotEngine(t).pipeline([read(), read(), read()]);
    expect(outcome.results).toHaveLength(1);
    expect(outcome.result?.status).toBe('failed');
    expect(t.remaining).toBe(0);
    expect(t.calls.filter((c) => c === 'out:31')).toHaveLength(2);
  });

  it('a residue stops it too (the caller decides what a short transfer means)', async () => {
    const t = new ScriptedTransport([CBW, { op: 'in', data: new Uint8Array(256) }, csw({ residue: 256 })]);
    const outcome = await new BotEngine(t).pipeline([read(), read()]);
    expect(outcome.results).toHaveLength(0);
    expect(outcome.result?.residue).toBe(256);
  });

  it('an exchange that fails is recovered and returned as the error, with the results before it', async () => {
    const t = new ScriptedTransport([CBW, block(1), csw(), CBW, block(2), csw({ status: 2 }), ...RESET_RECOVERY]);
    const outcome = await new BotEngine(t).pipeline([read(), read(), read()]);
    expect(outcome.results).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(Error);
    expect(t.remaining).toBe(0);
  });

  it('refuses, before anything is sent, more than MAX_PIPELINE commands, commands with different signals, or a bad request', async () => {
    const t = new ScriptedTransport([]);
    const bot = new BotEngine(t);
    await expect(bot.pipeline(Array.from({ length: MAX_PIPELINE + 1 }, () => read()))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bot.pipeline([read({ signal: new AbortController().signal }), read()])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bot.pipeline([read(), read({ lun: 16 })])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(t.calls).toEqual([]);
    expect(await bot.pipeline([])).toEqual({ results: [] });
  });
});
