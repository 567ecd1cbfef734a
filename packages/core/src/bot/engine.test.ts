import { describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  DeviceFailedError,
  DisconnectedError,
  InvalidArgumentError,
  InvalidCswError,
  PhaseError,
  TimeoutError,
  TransportError,
  UsbmsError,
} from '../errors.js';
import { type TraceEvent, Tracer } from '../trace.js';
import { type BotCommandRequest, BotEngine, type BotEngineOptions } from './engine.js';
import { csw, cswBytes, RESET_RECOVERY, ScriptedTransport, type ScriptedTransportOptions, type Step } from './testing/scripted-transport.js';

const TUR = Uint8Array.of(0x00, 0, 0, 0, 0, 0);
const INQUIRY = Uint8Array.of(0x12, 0, 0, 0, 36, 0);
const READ_CAPACITY_10 = Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const READ10 = Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
const WRITE10 = Uint8Array.of(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
const CBW: Step = { op: 'out' };

function setup(steps: Step[] = [], options: BotEngineOptions = {}, transportOptions: ScriptedTransportOptions = {}) {
  const t = new ScriptedTransport(steps, transportOptions);
  const bot = new BotEngine(t, options);
  return { t, bot };
}

function pattern(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

const none = (extra: Partial<BotCommandRequest> = {}): BotCommandRequest => ({ lun: 0, cdb: TUR, direction: 'none', length: 0, timeoutMs: 1000, ...extra });
const dataIn = (length: number, extra: Partial<BotCommandRequest> = {}): BotCommandRequest => ({
  lun: 0,
  cdb: READ10,
  direction: 'in',
  length,
  timeoutMs: 1000,
  ...extra,
});
const dataOut = (data: Uint8Array, extra: Partial<BotCommandRequest> = {}): BotCommandRequest => ({
  lun: 0,
  cdb: WRITE10,
  direction: 'out',
  length: data.length,
  data,
  timeoutMs: 1000,
  ...extra,
});

function expectScriptDone(t: ScriptedTransport): void {
  expect(t.violations).toEqual([]);
  expect(t.remaining).toBe(0);
}

/** After any outcome, a plain TEST UNIT READY must work. */
async function expectNextCommandWorks(t: ScriptedTransport, bot: BotEngine): Promise<void> {
  t.script(CBW, csw());
  await expect(bot.command(none())).resolves.toEqual({ status: 'passed', residue: 0, data: new Uint8Array(0) });
  expectScriptDone(t);
}

describe('BotEngine: the thirteen cases of BOT 1.0 §6.7', () => {
  it('case 1 Hn = Dn: CBW then CSW', async () => {
    const { t, bot } = setup([CBW, csw()]);
    await expect(bot.command(none())).resolves.toEqual({ status: 'passed', residue: 0, data: new Uint8Array(0) });
    expect(t.calls).toEqual(['out:31', 'in:13']);
    expectScriptDone(t);
  });

  it('case 2 Hn < Di: device answers phase error -> reset recovery -> PhaseError', async () => {
    const { t, bot } = setup([CBW, csw({ status: 2 }), ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(PhaseError);
    expect(t.calls).toEqual(['out:31', 'in:13', 'reset', 'clear-in', 'clear-out']);
    await expectNextCommandWorks(t, bot);
  });

  it('case 3 Hn < Do: device answers phase error -> reset recovery -> PhaseError', async () => {
    const { t, bot } = setup([CBW, csw({ status: 2, residue: 0 }), ...RESET_RECOVERY]);
    await expect(bot.command(none({ cdb: WRITE10 }))).rejects.toMatchObject({ code: 'PHASE_ERROR' });
    await expectNextCommandWorks(t, bot);
  });

  it('case 4 Hi > Dn: data-in stalls -> clear halt in -> CSW with residue = Hi', async () => {
    const { t, bot } = setup([CBW, { op: 'in', status: 'stall' }, { op: 'clear-in' }, csw({ residue: 512 })]);
    await expect(bot.command(dataIn(512))).resolves.toEqual({ status: 'passed', residue: 512, data: new Uint8Array(0) });
    expect(t.calls).toEqual(['out:31', 'in:512', 'clear-in', 'in:13']);
    await expectNextCommandWorks(t, bot);
  });

  it('case 4 Hi > Dn, zero-length packet variant: no data, CSW residue = Hi', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: new Uint8Array(0) }, csw({ residue: 512, status: 1 })]);
    await expect(bot.command(dataIn(512))).resolves.toEqual({ status: 'failed', residue: 512, data: new Uint8Array(0) });
    expectScriptDone(t);
  });

  it('case 5 Hi > Di: short data -> residue, only the valid bytes returned', async () => {
    const payload = pattern(20);
    const { t, bot } = setup([CBW, { op: 'in', data: payload }, csw({ residue: 16 })]);
    const r = await bot.command(dataIn(36, { cdb: INQUIRY }));
    expect(r).toEqual({ status: 'passed', residue: 16, data: payload });
    expectScriptDone(t);
  });

  it('case 5 Hi > Di, stall variant: short data then stall -> clear halt -> CSW', async () => {
    const payload = pattern(100);
    const { t, bot } = setup([CBW, { op: 'in', data: payload, status: 'stall' }, { op: 'clear-in' }, csw({ residue: 412 })]);
    const r = await bot.command(dataIn(512));
    expect(r.residue).toBe(412);
    expect(Array.from(r.data)).toEqual(Array.from(payload));
    expect(t.calls).toEqual(['out:31', 'in:512', 'clear-in', 'in:13']);
    await expectNextCommandWorks(t, bot);
  });

  it('case 6 Hi = Di: all data, residue 0', async () => {
    const payload = pattern(512);
    const { t, bot } = setup([CBW, { op: 'in', data: payload }, csw()]);
    const r = await bot.command(dataIn(512));
    expect(r).toEqual({ status: 'passed', residue: 0, data: payload });
    expect(t.calls).toEqual(['out:31', 'in:512', 'in:13']);
  });

  it('case 7 Hi < Di: device sends Hi bytes then phase error -> reset recovery -> PhaseError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: pattern(512) }, csw({ status: 2 }), ...RESET_RECOVERY]);
    await expect(bot.command(dataIn(512))).rejects.toBeInstanceOf(PhaseError);
    await expectNextCommandWorks(t, bot);
  });

  it('case 7 Hi < Di, babble variant: data that fit is kept, CSW read anyway, babble reported', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: pattern(600), status: 'babble' }, csw({ status: 0 })]);
    const r = await bot.command(dataIn(512));
    expect(r.babble).toBe(true);
    expect(r.data.length).toBe(512);
    expect(r.residue).toBe(0);
    await expectNextCommandWorks(t, bot);
  });

  it('case 8 Hi <> Do: data-in stalls, CSW phase error -> reset recovery', async () => {
    const { t, bot } = setup([CBW, { op: 'in', status: 'stall' }, { op: 'clear-in' }, csw({ status: 2 }), ...RESET_RECOVERY]);
    await expect(bot.command(dataIn(512))).rejects.toBeInstanceOf(PhaseError);
    expect(t.calls).toEqual(['out:31', 'in:512', 'clear-in', 'in:13', 'reset', 'clear-in', 'clear-out']);
    await expectNextCommandWorks(t, bot);
  });

  it('case 9 Ho > Dn: data-out stalls -> clear halt out -> CSW with residue = Ho', async () => {
    const { t, bot } = setup([CBW, { op: 'out', status: 'stall', bytesWritten: 0 }, { op: 'clear-out' }, csw({ residue: 512, status: 1 })]);
    await expect(bot.command(dataOut(pattern(512)))).resolves.toEqual({ status: 'failed', residue: 512, data: new Uint8Array(0) });
    expect(t.calls).toEqual(['out:31', 'out:512', 'clear-out', 'in:13']);
    await expectNextCommandWorks(t, bot);
  });

  it('case 10 Ho <> Di: data-out stalls, CSW phase error -> reset recovery', async () => {
    const { t, bot } = setup([CBW, { op: 'out', status: 'stall' }, { op: 'clear-out' }, csw({ status: 2 }), ...RESET_RECOVERY]);
    await expect(bot.command(dataOut(pattern(512)))).rejects.toBeInstanceOf(PhaseError);
    await expectNextCommandWorks(t, bot);
  });

  it('case 11 Ho > Do: device takes part, stalls, residue reported', async () => {
    const { t, bot } = setup([CBW, { op: 'out', status: 'stall', bytesWritten: 256 }, { op: 'clear-out' }, csw({ residue: 256 })]);
    await expect(bot.command(dataOut(pattern(512)))).resolves.toMatchObject({ status: 'passed', residue: 256 });
    await expectNextCommandWorks(t, bot);
  });

  it('case 11 Ho > Do without a stall: residue from the CSW', async () => {
    const { t, bot } = setup([CBW, { op: 'out' }, csw({ residue: 100 })]);
    await expect(bot.command(dataOut(pattern(512)))).resolves.toMatchObject({ status: 'passed', residue: 100 });
    expectScriptDone(t);
  });

  it('case 12 Ho = Do: data out, residue 0', async () => {
    const payload = pattern(4096);
    const { t, bot } = setup([CBW, { op: 'out' }, csw()]);
    await expect(bot.command(dataOut(payload))).resolves.toEqual({ status: 'passed', residue: 0, data: new Uint8Array(0) });
    expect(t.calls).toEqual(['out:31', 'out:4096', 'in:13']);
  });

  it('case 13 Ho < Do: device takes Ho bytes, phase error -> reset recovery', async () => {
    const { t, bot } = setup([CBW, { op: 'out' }, csw({ status: 2 }), ...RESET_RECOVERY]);
    await expect(bot.command(dataOut(pattern(512)))).rejects.toBeInstanceOf(PhaseError);
    await expectNextCommandWorks(t, bot);
  });
});

describe('BotEngine: CBW', () => {
  it('sends a correct CBW with a tag from a counter', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: pattern(512) }, csw(), CBW, csw()]);
    await bot.command(dataIn(512, { lun: 3 }));
    await bot.command(none());
    const [first, second] = t.cbws;
    expect(Array.from(first ?? [])).toEqual([
      0x55,
      0x53,
      0x42,
      0x43, // "USBC"
      0x01,
      0x00,
      0x00,
      0x00, // tag 1
      0x00,
      0x02,
      0x00,
      0x00, // 512 bytes
      0x80, // data-in
      0x03, // LUN 3
      0x0a, // 10-byte CDB
      ...READ10,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    expect(second?.[4]).toBe(2);
    expect(second?.[12]).toBe(0x00);
    expect(second?.[14]).toBe(6);
  });

  it('a stalled CBW -> reset recovery -> TransportError', async () => {
    const { t, bot } = setup([{ op: 'out', status: 'stall' }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(TransportError);
    await expectNextCommandWorks(t, bot);
  });

  it('a short CBW write -> reset recovery -> TransportError', async () => {
    const { t, bot } = setup([{ op: 'out', bytesWritten: 12 }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(TransportError);
    await expectNextCommandWorks(t, bot);
  });

  it.each<[string, Partial<BotCommandRequest>]>([
    ['LUN 16', { lun: 16 }],
    ['empty CDB', { cdb: new Uint8Array(0) }],
    ['17-byte CDB', { cdb: new Uint8Array(17) }],
    ['none with a length', { length: 4 }],
    ['zero timeout', { timeoutMs: 0 }],
    ['length above 32 bits', { direction: 'in', length: 2 ** 32 }],
    ['out without data', { direction: 'out', length: 4 }],
    ['out with mismatched data', { direction: 'out', length: 4, data: new Uint8Array(3) }],
    ['in with a small into', { direction: 'in', length: 4, into: new Uint8Array(3) }],
  ])('refuses %s with InvalidArgumentError before sending anything', async (_name, patch) => {
    const { t, bot } = setup([]);
    await expect(bot.command(none(patch))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(t.calls).toEqual([]);
  });

  it('refuses a second concurrent command (they must go through the queue)', async () => {
    const { t, bot } = setup([CBW, { op: 'in', delayMs: 10, data: cswBytes({ tag: 1 }) }]);
    const first = bot.command(none());
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(first).resolves.toMatchObject({ status: 'passed' });
    expectScriptDone(t);
  });
});

describe('BotEngine: CSW validity and meaningfulness (BOT 1.0 §6.3)', () => {
  it('CSW stall: clear halt, read again once', async () => {
    const { t, bot } = setup([CBW, { op: 'in', status: 'stall' }, { op: 'clear-in' }, csw()]);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expect(t.calls).toEqual(['out:31', 'in:13', 'clear-in', 'in:13']);
  });

  it('CSW stall twice -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', status: 'stall' }, { op: 'clear-in' }, { op: 'in', status: 'stall' }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('zero-length CSW: read again once', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: new Uint8Array(0) }, csw()]);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expect(t.calls).toEqual(['out:31', 'in:13', 'in:13']);
  });

  it('zero-length CSW twice -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: new Uint8Array(0) }, { op: 'in', data: new Uint8Array(0) }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('zero-length then stall then CSW: each retry used once, bounded', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: new Uint8Array(0) }, { op: 'in', status: 'stall' }, { op: 'clear-in' }, csw()]);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expectScriptDone(t);
  });

  it.each([1, 12])('a %i-byte CSW is not valid -> reset recovery -> InvalidCswError', async (n) => {
    const { t, bot } = setup([CBW, { op: 'in', data: new Uint8Array(n) }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('babble in the status stage -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', status: 'babble', data: (tr) => cswBytes({ tag: tr.lastTag }) }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('wrong tag -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, csw({ tagDelta: 1 }), ...RESET_RECOVERY]);
    const error = await bot.command(none()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidCswError);
    expect((error as InvalidCswError).message).toMatch(/ignoreTag/);
    await expectNextCommandWorks(t, bot);
  });

  it('wrong tag is accepted with the ignoreTag quirk', async () => {
    const { t, bot } = setup([CBW, csw({ tagDelta: 7 })], { quirks: { ignoreTag: true } });
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expectScriptDone(t);
  });

  it.each([3, 0x80, 0xff])('reserved status %i is not meaningful -> reset recovery -> InvalidCswError', async (status) => {
    const { t, bot } = setup([CBW, csw({ status }), ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('learns a non-standard signature from the first CSW and then insists on it', async () => {
    const odd = 0x55425355; // "USBU", seen on some devices
    const { t, bot } = setup([CBW, csw({ signature: odd }), CBW, csw({ signature: odd }), CBW, csw(), ...RESET_RECOVERY]);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expect(bot.cswSignature).toBe(odd);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    expectScriptDone(t);
  });

  it('a bad signature after the standard one was seen -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, csw(), CBW, csw({ signature: 0xdeadbeef }), ...RESET_RECOVERY]);
    await bot.command(none());
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('does not learn from a first CSW that is otherwise invalid', async () => {
    const { t, bot } = setup([CBW, csw({ signature: 0x11111111, tagDelta: 1 }), ...RESET_RECOVERY, CBW, csw()]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expect(bot.cswSignature).toBe(0x53425355);
    expectScriptDone(t);
  });

  it('learnCswSignature: false rejects a non-standard first signature', async () => {
    const { t, bot } = setup([CBW, csw({ signature: 0x55425355 }), ...RESET_RECOVERY], { learnCswSignature: false });
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });
});

describe('BotEngine: residue (BOT 1.0 §6.3.2, Linux tolerances)', () => {
  it('a residue larger than the request is clamped and recorded by default', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: pattern(8) }, csw({ residue: 1000 })]);
    const r = await bot.command(dataIn(64));
    expect(r).toMatchObject({ status: 'passed', residue: 64, deviceResidue: 1000 });
    expect(r.data.length).toBe(0);
    expectScriptDone(t);
  });

  it('a residue on a no-data command is clamped to 0 and recorded', async () => {
    const { bot } = setup([CBW, csw({ residue: 5 })]);
    await expect(bot.command(none())).resolves.toEqual({ status: 'passed', residue: 0, deviceResidue: 5, data: new Uint8Array(0) });
  });

  it('strictResidue: a residue larger than the request -> reset recovery -> InvalidCswError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: pattern(64) }, csw({ residue: 65 }), ...RESET_RECOVERY], { strictResidue: true });
    await expect(bot.command(dataIn(64))).rejects.toBeInstanceOf(InvalidCswError);
    await expectNextCommandWorks(t, bot);
  });

  it('takes the larger of observed shortfall and device residue', async () => {
    const { bot } = setup([CBW, { op: 'in', data: pattern(100) }, csw({ residue: 10 }), CBW, { op: 'in', data: pattern(512) }, csw({ residue: 12 })]);
    const a = await bot.command(dataIn(512));
    expect(a).toMatchObject({ residue: 412, deviceResidue: 10 });
    expect(a.data.length).toBe(100);
    const b = await bot.command(dataIn(512));
    expect(b.residue).toBe(12);
    expect(b.data.length).toBe(500); // only the bytes the device vouches for
  });

  it('ignoreResidue quirk: only what was transferred counts', async () => {
    const { bot } = setup([CBW, { op: 'in', data: pattern(512) }, csw({ residue: 512 }), CBW, { op: 'in', data: pattern(100) }, csw({ residue: 0 })], {
      quirks: { ignoreResidue: true },
    });
    await expect(bot.command(dataIn(512))).resolves.toMatchObject({ residue: 0, deviceResidue: 512 });
    await expect(bot.command(dataIn(512))).resolves.toMatchObject({ residue: 412 });
  });

  it('learns to ignore residues from a complete 36-byte INQUIRY reporting one (as Linux)', async () => {
    const { bot } = setup([CBW, { op: 'in', data: pattern(36) }, csw({ residue: 36 }), CBW, { op: 'in', data: pattern(512) }, csw({ residue: 200 })]);
    expect(bot.ignoresResidue).toBe(false);
    const inquiry = await bot.command(dataIn(36, { cdb: INQUIRY }));
    expect(inquiry.residue).toBe(0);
    expect(inquiry.data.length).toBe(36);
    expect(bot.ignoresResidue).toBe(true);
    await expect(bot.command(dataIn(512))).resolves.toMatchObject({ residue: 0 });
  });

  it('learns the same from a complete READ CAPACITY(10)', async () => {
    const { bot } = setup([CBW, { op: 'in', data: pattern(8) }, csw({ residue: 8 })]);
    await expect(bot.command(dataIn(8, { cdb: READ_CAPACITY_10 }))).resolves.toMatchObject({ residue: 0 });
    expect(bot.ignoresResidue).toBe(true);
  });
});

describe('BotEngine: data stage tolerances', () => {
  it('detects a device that skipped the data stage (13-byte "data" that is our CSW)', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: (tr) => cswBytes({ tag: tr.lastTag, status: 1, residue: 512 }) }]);
    const r = await bot.command(dataIn(512));
    expect(r).toEqual({ status: 'failed', residue: 512, data: new Uint8Array(0), dataPhaseSkipped: true });
    expect(t.calls).toEqual(['out:31', 'in:512']);
    await expectNextCommandWorks(t, bot);
  });

  it('13 bytes of real data that only look like a CSW of another tag are data', async () => {
    const fake = cswBytes({ tag: 999 });
    const { t, bot } = setup([CBW, { op: 'in', data: fake }, csw({ residue: 499 })]);
    const r = await bot.command(dataIn(512));
    expect(Array.from(r.data)).toEqual(Array.from(fake));
    expect(t.calls).toEqual(['out:31', 'in:512', 'in:13']);
  });

  it('a 13-byte request is never mistaken for a skipped data stage', async () => {
    const { t, bot } = setup([CBW, { op: 'in', data: (tr) => cswBytes({ tag: tr.lastTag }) }, csw()]);
    const r = await bot.command(dataIn(13));
    expect(r.data.length).toBe(13);
    expectScriptDone(t);
  });

  it('writes data-in into the caller buffer when the platform honours `into`', async () => {
    const into = new Uint8Array(1024);
    const { bot } = setup([CBW, { op: 'in', data: pattern(512, 9) }, csw()]);
    const r = await bot.command(dataIn(512, { into }));
    expect(r.data.buffer).toBe(into.buffer);
    expect(Array.from(into.subarray(0, 512))).toEqual(Array.from(pattern(512, 9)));
  });

  it('copies into the caller buffer when the platform ignores `into`', async () => {
    const backing = new Uint8Array(600);
    const into = backing.subarray(50, 562);
    const { bot } = setup([CBW, { op: 'in', data: pattern(512, 4) }, csw()], {}, { honorInto: false });
    const r = await bot.command(dataIn(512, { into }));
    expect(r.data.buffer).toBe(backing.buffer);
    expect(r.data.byteOffset).toBe(50);
    expect(Array.from(backing.subarray(50, 562))).toEqual(Array.from(pattern(512, 4)));
  });

  it('reads the CSW into its own reused buffer', async () => {
    const { t, bot } = setup([CBW, csw(), CBW, csw()]);
    await bot.command(none());
    await bot.command(none());
    const intos = t.options.filter((o): o is typeof o & { into: Uint8Array } => 'into' in o && o.into instanceof Uint8Array).map((o) => o.into);
    expect(intos.length).toBe(2);
    expect(intos[0]).toBe(intos[1]);
  });
});

describe('BotEngine: reset recovery (BOT 1.0 §5.3.4)', () => {
  it('class reset stalls -> port reset when offered; the original error is thrown; next command works', async () => {
    const { t, bot } = setup([CBW, csw({ status: 2 }), { op: 'reset', status: 'stall' }, { op: 'port-reset' }], {}, { portReset: true });
    await expect(bot.command(none())).rejects.toBeInstanceOf(PhaseError);
    expect(t.calls.slice(2)).toEqual(['reset', 'port-reset']);
    await expectNextCommandWorks(t, bot);
  });

  it('clear halt fails after the class reset -> port reset', async () => {
    const { t, bot } = setup(
      [CBW, csw({ status: 2 }), { op: 'reset' }, { op: 'clear-in', reject: new TransportError('pipe error') }, { op: 'port-reset' }],
      {},
      { portReset: true },
    );
    await expect(bot.command(none())).rejects.toBeInstanceOf(PhaseError);
    await expectNextCommandWorks(t, bot);
  });

  it('class reset fails and no port reset -> DeviceFailedError with the cause chained, reported once to onFailure', async () => {
    const cause = new TransportError('control pipe error');
    const reported: unknown[] = [];
    const { t, bot } = setup([CBW, csw({ status: 2 }), { op: 'reset', reject: cause }], { onFailure: (e) => reported.push(e) });
    const error = await bot.command(none()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceFailedError);
    expect((error as DeviceFailedError).cause).toBe(cause);
    expect((error as DeviceFailedError).message).toMatch(/phase error/i);
    // The engine reports; refusing later commands is the device state's job (device-state.test.ts).
    expect(reported).toEqual([error]);
    expect(t.calls.length).toBe(3);
  });

  it('port reset fails too -> DeviceFailedError reported; the engine keeps no state, so a later resetRecovery runs', async () => {
    const reported: unknown[] = [];
    const { t, bot } = setup(
      [CBW, csw({ status: 2 }), { op: 'reset', status: 'stall' }, { op: 'port-reset', reject: new TimeoutError('no answer') }],
      { onFailure: (e) => reported.push(e) },
      { portReset: true },
    );
    await expect(bot.command(none())).rejects.toBeInstanceOf(DeviceFailedError);
    expect(reported).toHaveLength(1);
    t.script(...RESET_RECOVERY);
    await bot.resetRecovery();
    expect(reported).toHaveLength(1);
    await expectNextCommandWorks(t, bot);
  });

  it('resetRecovery() runs the three requests with the given timeout', async () => {
    const { t, bot } = setup([...RESET_RECOVERY]);
    await bot.resetRecovery({ timeoutMs: 1234 });
    expect(t.calls).toEqual(['reset', 'clear-in', 'clear-out']);
    expect(t.options.map((o) => o.timeoutMs)).toEqual([1234, 1234, 1234]);
  });

  it('a disconnect during recovery -> DisconnectedError, no port reset', async () => {
    const { t, bot } = setup([CBW, csw({ status: 2 }), { op: 'reset', reject: new DisconnectedError() }], {}, { portReset: true });
    await expect(bot.command(none())).rejects.toBeInstanceOf(DisconnectedError);
    expectScriptDone(t);
  });

  it('any unexpected transport error -> reset recovery -> that TransportError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', reject: new TransportError('EIO') }, ...RESET_RECOVERY]);
    await expect(bot.command(dataIn(64))).rejects.toMatchObject({ code: 'TRANSPORT', message: 'EIO' });
    await expectNextCommandWorks(t, bot);
  });

  it('a non-usbms exception from a transport is wrapped as TransportError after recovery', async () => {
    const { t, bot } = setup([CBW, { op: 'in', reject: new RangeError('bad') }, ...RESET_RECOVERY]);
    const error = await bot.command(dataIn(64)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).cause).toBeInstanceOf(RangeError);
    await expectNextCommandWorks(t, bot);
  });
});

describe('BotEngine: disconnect, abort, timeout', () => {
  it('disconnect mid-command -> DisconnectedError, no recovery; reported to onFailure', async () => {
    const gone = new DisconnectedError();
    const reported: unknown[] = [];
    const { t, bot } = setup([CBW, { op: 'in', reject: gone }], { onFailure: (e) => reported.push(e) });
    await expect(bot.command(dataIn(512))).rejects.toBe(gone);
    expect(t.calls).toEqual(['out:31', 'in:512']);
    expect(reported).toEqual([gone]);
  });

  it('a disconnect seen by Get Max LUN or during recovery is reported too', async () => {
    const reported: unknown[] = [];
    const { bot } = setup(
      [
        { op: 'max-lun', reject: new DisconnectedError() },
        { op: 'reset', reject: new DisconnectedError() },
      ],
      {
        onFailure: (e) => reported.push(e),
      },
    );
    await expect(bot.getMaxLun()).rejects.toBeInstanceOf(DisconnectedError);
    await expect(bot.resetRecovery()).rejects.toBeInstanceOf(DisconnectedError);
    expect(reported.map((e) => (e as DisconnectedError).code)).toEqual(['DISCONNECTED', 'DISCONNECTED']);
  });

  it('a stale CSW of the command abandoned by the last reset is dropped once (f_mass_storage under dummy_hcd)', async () => {
    // Command 1 times out in its status stage and is reset; the device then still sends its CSW.
    const { t, bot } = setup([CBW, { op: 'in', reject: new TimeoutError('no CSW') }, ...RESET_RECOVERY, CBW, csw({ tagDelta: -1 }), csw()]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(TimeoutError);
    await expect(bot.command(none())).resolves.toMatchObject({ status: 'passed' });
    expectScriptDone(t);
    // Only once, and only right after the reset: a later wrong tag is still a wrong tag.
    t.script(CBW, csw({ tagDelta: -1 }), ...RESET_RECOVERY);
    await expect(bot.command(none())).rejects.toBeInstanceOf(InvalidCswError);
  });

  it("a stale CSW arriving in place of the next command's data is dropped, then the data is read", async () => {
    const { t, bot } = setup([
      CBW,
      { op: 'in', reject: new TimeoutError('no data') },
      ...RESET_RECOVERY,
      CBW,
      { op: 'in', data: (tr) => cswBytes({ tag: tr.lastTag - 1 }) },
      { op: 'in', data: pattern(512) },
      csw(),
    ]);
    await expect(bot.command(dataIn(512))).rejects.toBeInstanceOf(TimeoutError);
    await expect(bot.command(dataIn(512))).resolves.toEqual({ status: 'passed', residue: 0, data: pattern(512) });
    expectScriptDone(t);
  });

  it('aborted before start: AbortError, nothing sent', async () => {
    const { t, bot } = setup([]);
    await expect(bot.command(none({ signal: AbortSignal.abort() }))).rejects.toBeInstanceOf(AbortError);
    expect(t.calls).toEqual([]);
  });

  it('aborted in flight: waits for the transfer to stop, runs reset recovery, then AbortError; next command works', async () => {
    const controller = new AbortController();
    const { t, bot } = setup([CBW, { op: 'in', hang: true }, ...RESET_RECOVERY]);
    const pending = bot.command(dataIn(512, { signal: controller.signal, timeoutMs: 60_000 }));
    await vi.waitFor(() => expect(t.calls).toEqual(['out:31', 'in:512']));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(t.calls).toEqual(['out:31', 'in:512', 'reset', 'clear-in', 'clear-out']);
    // Recovery runs without the caller's (fired) signal.
    expect(t.options.slice(2).every((o) => o.signal === undefined)).toBe(true);
    await expectNextCommandWorks(t, bot);
  });

  it('a signal whose reason is a TimeoutError (the queue timed out) yields that TimeoutError', async () => {
    const controller = new AbortController();
    const { t, bot } = setup([CBW, { op: 'in', hang: true }, ...RESET_RECOVERY]);
    const pending = bot.command(dataIn(512, { signal: controller.signal, timeoutMs: 60_000 }));
    await vi.waitFor(() => expect(t.calls.length).toBe(2));
    const reason = new TimeoutError('queue timeout');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expectNextCommandWorks(t, bot);
  });

  it('aborted between stages (signal fires while the CBW is sent): recovery, AbortError', async () => {
    const controller = new AbortController();
    const { t, bot } = setup([{ op: 'out', delayMs: 20 }, ...RESET_RECOVERY]);
    const pending = bot.command(dataIn(512, { signal: controller.signal }));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(t.calls).toEqual(['out:31', 'reset', 'clear-in', 'clear-out']);
  });

  it('the transport times out the CSW read -> reset recovery -> TimeoutError', async () => {
    const { t, bot } = setup([CBW, { op: 'in', reject: new TimeoutError('CSW read timed out') }, ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(TimeoutError);
    await expectNextCommandWorks(t, bot);
  });

  it('each transfer gets the remaining command time; an exhausted budget -> TimeoutError + recovery', async () => {
    const { t, bot } = setup([{ op: 'out', delayMs: 60 }, ...RESET_RECOVERY]);
    await expect(bot.command(dataIn(512, { timeoutMs: 30 }))).rejects.toBeInstanceOf(TimeoutError);
    expect(t.calls).toEqual(['out:31', 'reset', 'clear-in', 'clear-out']);
    expect(t.options[0]?.timeoutMs).toBeLessThanOrEqual(30);
  });

  it('a hung transfer that the platform times out -> TimeoutError after recovery', async () => {
    const { t, bot } = setup([CBW, { op: 'in', hang: true }, ...RESET_RECOVERY]);
    await expect(bot.command(dataIn(512, { timeoutMs: 25 }))).rejects.toBeInstanceOf(TimeoutError);
    await expectNextCommandWorks(t, bot);
  });
});

describe('BotEngine: Get Max LUN (BOT 1.0 §3.2)', () => {
  it.each<[string, Step, number]>([
    ['value 3', { op: 'max-lun', data: Uint8Array.of(3) }, 3],
    ['value 15', { op: 'max-lun', data: Uint8Array.of(15) }, 15],
    ['value 16', { op: 'max-lun', data: Uint8Array.of(16) }, 0],
    ['value 0xff', { op: 'max-lun', data: Uint8Array.of(0xff) }, 0],
    ['a stall', { op: 'max-lun', status: 'stall' }, 0],
    ['a short (empty) reply', { op: 'max-lun', data: new Uint8Array(0) }, 0],
    ['a transport error', { op: 'max-lun', reject: new TransportError('EPIPE') }, 0],
    ['a timeout', { op: 'max-lun', reject: new TimeoutError('no answer') }, 0],
  ])('%s -> %i', async (_name, step, expected) => {
    const { t, bot } = setup([step]);
    await expect(bot.getMaxLun()).resolves.toBe(expected);
    expectScriptDone(t);
  });

  it('singleLun quirk: does not ask', async () => {
    const { t, bot } = setup([], { quirks: { singleLun: true } });
    await expect(bot.getMaxLun()).resolves.toBe(0);
    expect(t.calls).toEqual([]);
  });

  it('a disconnect is not a single LUN', async () => {
    const { bot } = setup([{ op: 'max-lun', reject: new DisconnectedError() }]);
    await expect(bot.getMaxLun()).rejects.toBeInstanceOf(DisconnectedError);
  });
});

describe('BotEngine: trace', () => {
  it('emits cbw, data, csw and recovery events with the caller trace id', async () => {
    const tracer = new Tracer();
    const events: TraceEvent[] = [];
    tracer.on((e) => events.push(e));
    const { bot } = setup([CBW, { op: 'in', status: 'stall' }, { op: 'clear-in' }, csw({ status: 2, residue: 64 }), ...RESET_RECOVERY], { tracer });
    await expect(bot.command(dataIn(64, { traceId: 42 }))).rejects.toBeInstanceOf(PhaseError);
    expect(events.map((e) => (e.type === 'recovery' ? `recovery:${e.step}` : e.type))).toEqual([
      'cbw',
      'data',
      'recovery:clear-halt-in',
      'csw',
      'recovery:bulk-only-reset',
      'recovery:clear-halt-in',
      'recovery:clear-halt-out',
    ]);
    expect(events.every((e) => e.id === 42)).toBe(true);
    const cswEvent = events.find((e) => e.type === 'csw');
    expect(cswEvent).toMatchObject({ status: 2, residue: 64, tag: 1 });
  });

  it('emits nothing (and builds nothing) when nobody listens', async () => {
    const tracer = new Tracer();
    const emit = vi.spyOn(tracer, 'emit');
    const { bot } = setup([CBW, { op: 'in', data: pattern(64) }, csw()], { tracer });
    await bot.command(dataIn(64));
    expect(emit).not.toHaveBeenCalled();
  });
});

describe('BotEngine: errors are typed', () => {
  it('every error thrown above is a UsbmsError', async () => {
    const { bot } = setup([CBW, csw({ status: 9 }), ...RESET_RECOVERY]);
    await expect(bot.command(none())).rejects.toBeInstanceOf(UsbmsError);
  });
});
