import { afterEach, describe, expect, it, vi } from 'vitest';
import { CSW_LENGTH, decodeCsw, encodeCbw } from '../bot/wrappers.js';
import { AbortError, ClosedError, DisconnectedError, ProtocolViolationError, TimeoutError, TransportError } from '../errors.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from './device.js';
import { rawResetRecovery } from './raw-host.js';
import { cdb10, hex, pattern, run, senseOf } from './test-util.js';

const T = { timeoutMs: 1000 };
const TUR = [0, 0, 0, 0, 0, 0];
const INQUIRY36 = [0x12, 0, 0, 0, 36, 0];

function cbw(tag: number, length: number, direction: 'in' | 'out', cdb: number[], lun = 0): Uint8Array {
  return encodeCbw({ tag, dataTransferLength: length, direction, lun, cdb: Uint8Array.from(cdb) });
}

async function readCsw(sim: SimulatedDevice) {
  const r = await sim.transport.bulkIn(CSW_LENGTH, T);
  expect(r.status).toBe('ok');
  return decodeCsw(r.data);
}

function makeSim(options: SimulatedDeviceOptions = {}): SimulatedDevice {
  return new SimulatedDevice(options);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BOT 1.0 §6.7: the thirteen host/device cases', () => {
  it('case 1 (Hn = Dn): no data stage, CSW passed with residue 0', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(1, 0, 'out', TUR), T);
    expect(await readCsw(sim)).toEqual({ signature: 0x53425355, tag: 1, residue: 0, status: 0 });
    sim.assertClean();
  });

  it('case 2 (Hn < Di) and case 3 (Hn < Do): Phase Error; the command is not executed', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(2, 0, 'in', INQUIRY36), T);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
    await sim.transport.bulkOut(cbw(3, 0, 'out', cdb10(0x2a, 0, 1)), T);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
    expect(sim.stats.bytesWritten).toBe(0);
    sim.assertClean();
  });

  it('case 4 (Hi > Dn): the device STALLs bulk-IN; after CLEAR HALT the CSW has residue Hi', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(4, 64, 'in', TUR), T);
    expect((await sim.transport.bulkIn(64, T)).status).toBe('stall');
    expect(sim.halted.in).toBe(true);
    await sim.transport.clearHalt('in', T);
    expect(await readCsw(sim)).toMatchObject({ tag: 4, residue: 64, status: 0 });
  });

  it('case 5 (Hi > Di): short data, residue Hi - Di; optionally followed by a bulk-IN STALL', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(5, 100, 'in', INQUIRY36), T);
    const d = await sim.transport.bulkIn(100, T);
    expect(d).toMatchObject({ status: 'ok' });
    expect(d.data.length).toBe(36);
    expect(await readCsw(sim)).toMatchObject({ residue: 64, status: 0 });

    const stalling = makeSim({ stallOnShortDataIn: true });
    await stalling.transport.bulkOut(cbw(6, 100, 'in', INQUIRY36), T);
    expect((await stalling.transport.bulkIn(100, T)).data.length).toBe(36);
    expect((await stalling.transport.bulkIn(CSW_LENGTH, T)).status).toBe('stall');
    await stalling.transport.clearHalt('in', T);
    expect(await readCsw(stalling)).toMatchObject({ residue: 64, status: 0 });
    stalling.assertClean();
  });

  it('case 5 with a stall after a packet-aligned short transfer: the transfer reports STALL with its data', async () => {
    const sim = makeSim({ stallOnShortDataIn: true, luns: [{ blocks: 1 }] });
    // READ(10) of the 1 block that exists while the host asks for 2 blocks' worth: Di = 512 < Hi = 1024.
    await sim.transport.bulkOut(cbw(7, 1024, 'in', cdb10(0x28, 0, 1)), T);
    const d = await sim.transport.bulkIn(1024, T);
    expect(d.status).toBe('stall');
    expect(d.data.length).toBe(512);
    await sim.transport.clearHalt('in', T);
    expect(await readCsw(sim)).toMatchObject({ residue: 512, status: 0 });
  });

  it('case 6 (Hi = Di): all data, residue 0', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(8, 36, 'in', INQUIRY36), T);
    expect((await sim.transport.bulkIn(36, T)).data.length).toBe(36);
    expect(await readCsw(sim)).toMatchObject({ residue: 0, status: 0 });
  });

  it('case 7 (Hi < Di): the device sends Hi bytes, then Phase Error', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(9, 16, 'in', INQUIRY36), T);
    const d = await sim.transport.bulkIn(16, T);
    expect(d.status).toBe('ok');
    expect(d.data.length).toBe(16);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
    sim.assertClean();
  });

  it('case 8 (Hi <> Do): bulk-IN STALL, Phase Error', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(10, 512, 'in', cdb10(0x2a, 0, 1)), T);
    expect((await sim.transport.bulkIn(512, T)).status).toBe('stall');
    await sim.transport.clearHalt('in', T);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
  });

  it('case 9 (Ho > Dn): bulk-OUT STALL, CSW with residue Ho', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(11, 64, 'out', TUR), T);
    expect(await sim.transport.bulkOut(new Uint8Array(64), T)).toEqual({ status: 'stall', bytesWritten: 0 });
    await sim.transport.clearHalt('out', T);
    expect(await readCsw(sim)).toMatchObject({ residue: 64, status: 0 });
    sim.assertClean();
  });

  it('case 10 (Ho <> Di): bulk-OUT STALL, Phase Error', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(12, 36, 'out', INQUIRY36), T);
    expect((await sim.transport.bulkOut(new Uint8Array(36), T)).status).toBe('stall');
    await sim.transport.clearHalt('out', T);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
  });

  it('case 11 (Ho > Do): the device takes Do bytes then STALLs; residue Ho - Do; the write happens', async () => {
    const sim = makeSim({ luns: [{ writeCache: false }] });
    await sim.transport.bulkOut(cbw(13, 1024, 'out', cdb10(0x2a, 0, 1)), T);
    const data = pattern(1024, 1);
    expect(await sim.transport.bulkOut(data, T)).toEqual({ status: 'stall', bytesWritten: 512 });
    await sim.transport.clearHalt('out', T);
    expect(await readCsw(sim)).toMatchObject({ residue: 512, status: 0 });
    expect(sim.lun(0).readBlocks(0, 1)).toEqual(data.subarray(0, 512));

    const lenient = makeSim({ acceptExcessDataOut: true });
    await lenient.transport.bulkOut(cbw(14, 1024, 'out', cdb10(0x2a, 0, 1)), T);
    expect(await lenient.transport.bulkOut(data, T)).toEqual({ status: 'ok', bytesWritten: 1024 });
    expect(await readCsw(lenient)).toMatchObject({ residue: 512, status: 0 });
  });

  it('case 12 (Ho = Do): all data, residue 0', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(15, 512, 'out', cdb10(0x2a, 3, 1)), T);
    expect(await sim.transport.bulkOut(pattern(512, 2), T)).toEqual({ status: 'ok', bytesWritten: 512 });
    expect(await readCsw(sim)).toMatchObject({ residue: 0, status: 0 });
  });

  it('case 13 (Ho < Do): the device takes Ho bytes, Phase Error, nothing written', async () => {
    const sim = makeSim({ luns: [{ writeCache: false }] });
    await sim.transport.bulkOut(cbw(16, 512, 'out', cdb10(0x2a, 0, 2)), T);
    expect(await sim.transport.bulkOut(pattern(512, 3), T)).toEqual({ status: 'ok', bytesWritten: 512 });
    expect((await readCsw(sim)).status).toBe(2);
    expect(sim.lun(0).readBlocks(0, 1)).toEqual(new Uint8Array(512));
    await rawResetRecovery(sim.transport);
  });

  it('data-in may be read in several packet-multiple transfers', async () => {
    const sim = makeSim();
    await run(sim, cdb10(0x2a, 0, 8), { out: pattern(4096, 4) });
    await sim.transport.bulkOut(cbw(17, 4096, 'in', cdb10(0x28, 0, 8)), T);
    const a = await sim.transport.bulkIn(1024, T);
    const b = await sim.transport.bulkIn(3072, T);
    expect(new Uint8Array([...a.data, ...b.data])).toEqual(pattern(4096, 4));
    expect(await readCsw(sim)).toMatchObject({ residue: 0, status: 0 });
  });

  it('a host buffer that is not a packet multiple overflows (babble) when a full packet arrives', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(18, 512, 'in', cdb10(0x28, 0, 1)), T);
    // Reading "the CSW" (13 bytes) while the device sends a 512-byte data packet.
    const r = await sim.transport.bulkIn(13, T);
    expect(r.status).toBe('babble');
    expect(r.data.length).toBe(13);
  });

  it('fills a caller-supplied buffer (into) and returns a view of it', async () => {
    const sim = makeSim();
    const into = new Uint8Array(64);
    await sim.transport.bulkOut(cbw(19, 36, 'in', INQUIRY36), T);
    const r = await sim.transport.bulkIn(36, { ...T, into });
    expect(r.data.buffer).toBe(into.buffer);
    expect(hex(into.subarray(8, 13))).toBe(hex(new TextEncoder().encode('USBMS')));
  });
});

describe('class requests and resets', () => {
  it('Get Max LUN returns the highest LUN; a fault makes it STALL', async () => {
    const sim = makeSim({ luns: [{}, {}, { mediumPresent: false }] });
    expect(await sim.transport.classRequest({ request: 'get-max-lun' }, T)).toEqual({ status: 'ok', data: Uint8Array.of(2) });
    sim.inject({ kind: 'get-max-lun-stall' });
    expect((await sim.transport.classRequest({ request: 'get-max-lun' }, T)).status).toBe('stall');
    expect((await sim.transport.classRequest({ request: 'get-max-lun' }, T)).data[0]).toBe(2);
    const stalls = makeSim({ getMaxLun: 'stall' });
    expect((await stalls.transport.classRequest({ request: 'get-max-lun' }, T)).status).toBe('stall');
  });

  it('Bulk-Only reset discards the command in progress and keeps endpoint halts (BOT 1.0 §3.1)', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(1, 64, 'in', TUR), T);
    expect((await sim.transport.bulkIn(64, T)).status).toBe('stall');
    expect((await sim.transport.classRequest({ request: 'bulk-only-reset' }, T)).status).toBe('ok');
    expect(sim.state).toBe('idle');
    expect(sim.halted.in).toBe(true);
    await sim.transport.clearHalt('in', T);
    expect((await run(sim, TUR)).status).toBe(0);
    expect(sim.log[0]?.outcome).toBe('reset');
    sim.assertClean();
  });

  it('UNIT ATTENTION 29/00 after reset, by option or by fault', async () => {
    const sim = makeSim({ unitAttentionOnReset: true });
    await rawResetRecovery(sim.transport);
    expect((await run(sim, TUR)).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 6, asc: 0x29, ascq: 0 });

    const f = makeSim({ luns: [{}, {}] });
    f.inject({ kind: 'unit-attention', lun: 1 });
    expect((await run(f, TUR, { lun: 1 })).status).toBe(0);
    await rawResetRecovery(f.transport);
    expect((await run(f, TUR)).status).toBe(0);
    expect((await run(f, TUR, { lun: 1 })).status).toBe(1);
    expect(await senseOf(f, 1)).toMatchObject({ key: 6, asc: 0x29 });
    await rawResetRecovery(f.transport);
    expect((await run(f, TUR, { lun: 1 })).status).toBe(0);
  });

  it('a unit-attention fault with trigger "now" is pending at once', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'unit-attention', trigger: 'now', asc: 0x2a, ascq: 0x01 });
    expect((await run(sim, TUR)).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 6, asc: 0x2a, ascq: 1 });
  });

  it('port reset clears halts and the BOT state; a fault can make it fail; it can be absent', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(1, 64, 'in', TUR), T);
    await sim.transport.bulkIn(64, T);
    expect(sim.halted.in).toBe(true);
    await sim.transport.portReset?.(T);
    expect(sim.halted).toEqual({ in: false, out: false });
    expect((await run(sim, TUR)).status).toBe(0);
    sim.inject({ kind: 'port-reset-fail' });
    await expect(sim.transport.portReset?.(T)).rejects.toBeInstanceOf(TransportError);
    expect(makeSim({ portReset: false }).transport.portReset).toBeUndefined();
    expect(sim.stats.portResets).toBe(1);
  });

  it('a reset-stall fault STALLs the Bulk-Only reset (and the hang it should release stays)', async () => {
    vi.useFakeTimers();
    const sim = makeSim();
    sim.inject({ kind: 'hang' });
    sim.inject({ kind: 'reset-stall' });
    await sim.transport.bulkOut(cbw(1, 0, 'out', TUR), T);
    const csw = sim.transport.bulkIn(13, T);
    const settled = expect(csw).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect((await sim.transport.classRequest({ request: 'bulk-only-reset' }, T)).status).toBe('stall');
    expect(sim.hung).toBe(true);
    await sim.transport.portReset?.(T);
    expect(sim.hung).toBe(false);
    expect((await run(sim, TUR)).status).toBe(0);
  });
});

describe('fault injection, observed at the transport', () => {
  it('stall-data-in: bulk-IN STALLs in the data stage; the CSW counts what was not sent', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'stall-data-in', opcode: 0x28 });
    expect((await run(sim, TUR)).status).toBe(0); // opcode filter: TUR is not hit
    const r = await run(sim, cdb10(0x28, 0, 2), { in: 1024 });
    expect(r.raw.dataStatus).toBe('stall');
    expect(r.residue).toBe(1024);
    expect(r.status).toBe(0);
    expect(sim.log.at(-1)?.faults).toEqual(['stall-data-in']);
    expect((await run(sim, cdb10(0x28, 0, 2), { in: 1024 })).raw.dataStatus).toBe('ok');
  });

  it('stall-data-in after some bytes: the data arrives, then the STALL', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'stall-data-in', afterBytes: 512 });
    const r = await run(sim, cdb10(0x28, 0, 2), { in: 1024 });
    expect(r.raw.dataStatus).toBe('stall');
    expect(r.data.length).toBe(512);
    expect(r.residue).toBe(512);
  });

  it('stall-data-out: bulk-OUT STALLs; the command fails with DATA PHASE ERROR and writes nothing', async () => {
    const sim = makeSim({ luns: [{ writeCache: false }] });
    sim.inject({ kind: 'stall-data-out' });
    const r = await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 1) });
    expect(r.raw.dataStatus).toBe('stall');
    expect(r.raw.bytesWritten).toBe(0);
    expect(r.status).toBe(1);
    expect(r.residue).toBe(512);
    expect(await senseOf(sim)).toMatchObject({ key: 0x0b, asc: 0x4b });
    expect(sim.lun(0).readBlocks(0, 1)).toEqual(new Uint8Array(512));
    expect((await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 1) })).status).toBe(0);
  });

  it('stall-csw: the first CSW read STALLs; after CLEAR HALT the CSW arrives', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'stall-csw' });
    const r = await run(sim, TUR);
    expect(r.raw.firstCswStatus).toBe('stall');
    expect(r.status).toBe(0);
    sim.assertClean();
  });

  it('bad-csw-signature, wrong-tag, residue-too-large alter the CSW', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'bad-csw-signature' });
    await sim.transport.bulkOut(cbw(21, 0, 'out', TUR), T);
    expect((await readCsw(sim)).signature).toBe(0x73425355);
    sim.inject({ kind: 'wrong-tag' });
    await sim.transport.bulkOut(cbw(22, 0, 'out', TUR), T);
    expect((await readCsw(sim)).tag).toBe((22 ^ 0xffffffff) >>> 0);
    sim.inject({ kind: 'residue-too-large' });
    await sim.transport.bulkOut(cbw(23, 36, 'in', INQUIRY36), T);
    await sim.transport.bulkIn(36, T);
    expect((await readCsw(sim)).residue).toBe(36 + 512);
    sim.assertClean();
  });

  it('phase-error: CSW status 2; a CBW without reset recovery afterwards is a violation', async () => {
    const sim = makeSim({ throwOnViolation: false });
    sim.inject({ kind: 'phase-error' });
    expect((await run(sim, TUR)).status).toBe(2);
    await sim.transport.bulkOut(cbw(24, 0, 'out', TUR), T);
    expect(sim.violations.map((v) => v.kind)).toEqual(['no-reset-after-phase-error']);
    expect(() => sim.assertClean()).toThrow(ProtocolViolationError);
  });

  it('short-data: fewer bytes than intended, and the residue says so', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'short-data', missingBytes: 10 });
    const r = await run(sim, INQUIRY36, { in: 36 });
    expect(r.data.length).toBe(26);
    expect(r.residue).toBe(10);
    expect(r.status).toBe(0);
  });

  it('long-data: babble in the data stage, then Phase Error', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'long-data' });
    await sim.transport.bulkOut(cbw(25, 512, 'in', cdb10(0x28, 0, 1)), T);
    const r = await sim.transport.bulkIn(512, T);
    expect(r.status).toBe('babble');
    expect(r.data.length).toBe(512);
    expect((await readCsw(sim)).status).toBe(2);
    await rawResetRecovery(sim.transport);
    sim.assertClean();
  });

  it('zero-length-csw: the first status read returns 0 bytes, the next the CSW', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'zero-length-csw' });
    await sim.transport.bulkOut(cbw(26, 0, 'out', TUR), T);
    expect((await sim.transport.bulkIn(13, T)).data.length).toBe(0);
    expect(await readCsw(sim)).toMatchObject({ tag: 26, status: 0 });
  });

  it('skip-data: the data read returns the CSW (residue = Hi); the device is then ready for a CBW', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'skip-data' });
    await sim.transport.bulkOut(cbw(27, 512, 'in', cdb10(0x28, 0, 1)), T);
    const r = await sim.transport.bulkIn(512, T);
    expect(r.data.length).toBe(13);
    expect(decodeCsw(r.data)).toMatchObject({ signature: 0x53425355, tag: 27, residue: 512, status: 0 });
    expect(sim.state).toBe('idle');
    expect((await run(sim, TUR)).status).toBe(0);
    sim.assertClean();
  });

  it('hang: the CSW read times out per its timeoutMs; Bulk-Only reset releases the device', async () => {
    vi.useFakeTimers();
    const sim = makeSim();
    sim.inject({ kind: 'hang' });
    await sim.transport.bulkOut(cbw(28, 0, 'out', TUR), T);
    const csw = sim.transport.bulkIn(13, { timeoutMs: 5000 });
    const settled = expect(csw).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(4999);
    expect(sim.hung).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await settled;
    await rawResetRecovery(sim.transport);
    expect(sim.hung).toBe(false);
    expect((await run(sim, TUR)).status).toBe(0);
    expect(sim.log[0]?.outcome).toBe('reset');
    sim.assertClean();
  });

  it('hang at the data stage: an abort settles the transfer, which is then no longer pending', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'hang', stage: 'data' });
    await sim.transport.bulkOut(cbw(29, 512, 'in', cdb10(0x28, 0, 1)), T);
    const ac = new AbortController();
    const p = sim.transport.bulkIn(512, { timeoutMs: 0, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    // A new transfer on the same pipe is not "concurrent": the aborted one is gone.
    const again = sim.transport.bulkIn(512, { timeoutMs: 0, signal: AbortSignal.abort() });
    await expect(again).rejects.toBeInstanceOf(AbortError);
    await rawResetRecovery(sim.transport);
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).status).toBe(0);
    sim.assertClean();
  });

  it('hang at the CBW: the CBW transfer itself never completes', async () => {
    vi.useFakeTimers();
    const sim = makeSim();
    sim.inject({ kind: 'hang', stage: 'cbw' });
    const out = sim.transport.bulkOut(cbw(30, 0, 'out', TUR), { timeoutMs: 100 });
    const settled = expect(out).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await settled;
    await rawResetRecovery(sim.transport);
    expect((await run(sim, TUR)).status).toBe(0);
  });

  it('disconnect mid-command: the data transfer rejects with DisconnectedError, listeners fire, the transport stays dead until reconnect', async () => {
    const sim = makeSim();
    const seen: string[] = [];
    const off = sim.transport.onDisconnect(() => seen.push('gone'));
    sim.inject({ kind: 'disconnect' });
    await sim.transport.bulkOut(cbw(31, 512, 'in', cdb10(0x28, 0, 1)), T);
    await expect(sim.transport.bulkIn(512, T)).rejects.toBeInstanceOf(DisconnectedError);
    expect(seen).toEqual(['gone']);
    await expect(sim.transport.bulkIn(13, T)).rejects.toBeInstanceOf(DisconnectedError);
    await expect(sim.transport.classRequest({ request: 'bulk-only-reset' }, T)).rejects.toBeInstanceOf(DisconnectedError);
    off();
    expect(sim.log[0]?.outcome).toBe('disconnected');
    const t2 = sim.reconnect();
    expect(t2).toBe(sim.transport);
    expect((await run(sim, TUR)).status).toBe(0);
  });

  it('a disconnect rejects a transfer that is waiting (NAK) on the device', async () => {
    const sim = makeSim();
    const waiting = sim.transport.bulkIn(13, { timeoutMs: 0 });
    sim.disconnect();
    await expect(waiting).rejects.toBeInstanceOf(DisconnectedError);
  });

  it('faults fire `times` times, filter by LUN, and can be removed', async () => {
    const sim = makeSim({ luns: [{}, {}] });
    const h = sim.inject({ kind: 'phase-error', times: 2, lun: 1 });
    expect((await run(sim, TUR)).status).toBe(0);
    expect((await run(sim, TUR, { lun: 1 })).status).toBe(2);
    await rawResetRecovery(sim.transport);
    expect(h.remaining).toBe(1);
    h.remove();
    expect(h.done).toBe(true);
    expect(sim.faults).toEqual([]);
    expect((await run(sim, TUR, { lun: 1 })).status).toBe(0);
    sim.assertClean();
  });
});

describe('host violations', () => {
  it('a malformed CBW is recorded, rejects with ProtocolViolationError, and stalls both pipes until reset recovery (BOT 1.0 §6.6.1)', async () => {
    const sim = makeSim();
    const bad = cbw(1, 0, 'out', TUR);
    bad[0] = 0x00;
    await expect(sim.transport.bulkOut(bad, T)).rejects.toBeInstanceOf(ProtocolViolationError);
    expect(sim.violations.map((v) => v.kind)).toEqual(['malformed-cbw']);
    await sim.transport.clearHalt('in', T);
    expect(sim.halted).toEqual({ in: true, out: true });
    await rawResetRecovery(sim.transport);
    expect(sim.halted).toEqual({ in: false, out: false });
    expect((await run(sim, TUR)).status).toBe(0);
    expect(() => sim.assertClean()).toThrow(/malformed-cbw/);
  });

  it('a 30-byte CBW is malformed too; without throwOnViolation it only stalls', async () => {
    const sim = makeSim({ throwOnViolation: false });
    expect(await sim.transport.bulkOut(cbw(1, 0, 'out', TUR).subarray(0, 30), T)).toEqual({ status: 'stall', bytesWritten: 0 });
    expect(sim.violations[0]?.kind).toBe('malformed-cbw');
  });

  it('a CBW sent before the previous CSW was read is caught', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(1, 36, 'in', INQUIRY36), T);
    await sim.transport.bulkIn(36, T);
    await expect(sim.transport.bulkOut(cbw(2, 0, 'out', TUR), T)).rejects.toBeInstanceOf(ProtocolViolationError);
    expect(sim.violations[0]).toMatchObject({ kind: 'cbw-before-csw', command: 1 });
  });

  it('two transfers pending on one endpoint are caught', async () => {
    const sim = makeSim();
    const first = sim.transport.bulkIn(13, { timeoutMs: 0 });
    await expect(sim.transport.bulkIn(13, T)).rejects.toBeInstanceOf(ProtocolViolationError);
    expect(sim.violations[0]?.kind).toBe('concurrent-transfer');
    // The first one still completes once a command gives it a CSW.
    await sim.transport.bulkOut(cbw(3, 0, 'out', TUR), T);
    expect(decodeCsw((await first).data).tag).toBe(3);
  });

  it('more data-out than dCBWDataTransferLength is caught', async () => {
    const sim = makeSim();
    await sim.transport.bulkOut(cbw(1, 512, 'out', cdb10(0x2a, 0, 1)), T);
    await expect(sim.transport.bulkOut(new Uint8Array(1024), T)).rejects.toBeInstanceOf(ProtocolViolationError);
    expect(sim.violations[0]?.kind).toBe('data-out-overrun');
  });
});

describe('transport contract', () => {
  it('close() releases the interface: later calls and pending transfers reject with ClosedError', async () => {
    const sim = makeSim();
    const pending = sim.transport.bulkIn(13, { timeoutMs: 0 });
    await sim.transport.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(sim.transport.bulkOut(cbw(1, 0, 'out', TUR), T)).rejects.toBeInstanceOf(ClosedError);
    await sim.transport.close();
  });

  it('transferDelayMs delays each transfer; a delay past timeoutMs is a TimeoutError', async () => {
    vi.useFakeTimers();
    const sim = makeSim({ transferDelayMs: 50 });
    let done = false;
    const p = sim.transport.bulkOut(cbw(1, 0, 'out', TUR), T).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
    const slow = sim.transport.bulkIn(13, { timeoutMs: 20 });
    const settled = expect(slow).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(20);
    await settled;
  });

  it('an already-aborted signal rejects at once without touching the device', async () => {
    const sim = makeSim();
    await expect(sim.transport.bulkOut(cbw(1, 0, 'out', TUR), { timeoutMs: 100, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(sim.stats.commands).toBe(0);
  });

  it('exposes transport info with overrides', () => {
    const sim = makeSim({ info: { vendorId: 0x0781, productId: 0x5567, maxPacketSizeIn: 64, maxPacketSizeOut: 64, speed: 'full' } });
    expect(sim.transport.info).toMatchObject({
      vendorId: 0x0781,
      productId: 0x5567,
      maxPacketSizeIn: 64,
      speed: 'full',
      interfaceSubclass: 6,
      interfaceProtocol: 0x50,
    });
  });
});

describe('observability', () => {
  it('logs each command with opcode, LUN, tag, times, CSW status and residue; counts bytes', async () => {
    const sim = makeSim({ luns: [{}, {}] });
    await run(sim, cdb10(0x2a, 0, 2), { out: pattern(1024, 1), lun: 1 });
    await run(sim, cdb10(0x28, 0, 2), { in: 1024, lun: 1 });
    await run(sim, cdb10(0x35, 0, 0), { lun: 1 });
    expect(sim.log.map((r) => [r.seq, r.opcode, r.lun, r.direction, r.hostLength, r.cswStatus, r.residue, r.outcome])).toEqual([
      [1, 0x2a, 1, 'out', 1024, 0, 0, 'completed'],
      [2, 0x28, 1, 'in', 1024, 0, 0, 'completed'],
      [3, 0x35, 1, 'none', 0, 0, 0, 'completed'],
    ]);
    for (const r of sim.log) expect(r.end).toBeGreaterThanOrEqual(r.start);
    expect(sim.stats).toMatchObject({ commands: 3, bytesRead: 1024, bytesWritten: 1024, flushes: 1 });
    expect(sim.interleavings()).toEqual([]);
  });

  it('a host that interleaves two commands is caught as a violation, and the log never overlaps', async () => {
    const sim = makeSim({ throwOnViolation: false });
    await sim.transport.bulkOut(cbw(1, 36, 'in', INQUIRY36), T);
    await rawResetRecovery(sim.transport);
    await run(sim, TUR);
    // A reset ended command 1, so no overlap.
    expect(sim.interleavings()).toEqual([]);
    await sim.transport.bulkOut(cbw(5, 36, 'in', INQUIRY36), T);
    expect(sim.interleavings()).toEqual([]);
    // A second command's CBW while command 3 still owes its CSW: refused (stall) and recorded.
    await sim.transport.bulkIn(36, T);
    expect((await sim.transport.bulkOut(cbw(6, 0, 'out', TUR), T)).status).toBe('stall');
    expect(sim.violations.map((v) => v.kind)).toEqual(['cbw-before-csw']);
    expect(sim.interleavings()).toEqual([]);
    expect(() => sim.assertClean()).toThrow(ProtocolViolationError);
  });
});

describe('lifecycle helpers', () => {
  it('reopen() gives a fresh transport after close() without a power cycle (cache kept)', async () => {
    const sim = makeSim({ unitAttentionOnPowerOn: true });
    await run(sim, INQUIRY36, { in: 36 });
    await run(sim, TUR); // consumes the power-on UNIT ATTENTION
    await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 1) });
    const old = sim.transport;
    await old.close();
    const fresh = sim.reopen();
    expect(fresh).not.toBe(old);
    await expect(old.bulkIn(13, T)).rejects.toBeInstanceOf(ClosedError);
    expect((await run(sim, TUR)).status).toBe(0);
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).data).toEqual(pattern(512, 1));
    sim.disconnect();
    expect(() => sim.reopen()).toThrow(DisconnectedError);
  });

  it('onCommand reports each finished command', async () => {
    const sim = makeSim();
    const seen: Array<[number, string]> = [];
    const off = sim.onCommand((r) => seen.push([r.opcode, r.outcome]));
    await run(sim, TUR);
    await sim.transport.bulkOut(cbw(2, 36, 'in', INQUIRY36), T);
    await rawResetRecovery(sim.transport);
    off();
    await run(sim, TUR);
    expect(seen).toEqual([
      [0x00, 'completed'],
      [0x12, 'reset'],
    ]);
  });

  it('rejects a transfer above info.maxTransferSize before touching the device', async () => {
    const sim = makeSim({ info: { maxTransferSize: 4096 } });
    await sim.transport.bulkOut(cbw(1, 8192, 'in', cdb10(0x28, 0, 16)), T);
    await expect(sim.transport.bulkIn(8192, T)).rejects.toThrow(/exceeds this platform's limit/);
    const a = await sim.transport.bulkIn(4096, T);
    const b = await sim.transport.bulkIn(4096, T);
    expect(a.data.length + b.data.length).toBe(8192);
    expect((await readCsw(sim)).residue).toBe(0);
  });

  it('a port reset cancels a transfer the device is NAKing', async () => {
    const sim = makeSim();
    sim.inject({ kind: 'hang', stage: 'data' });
    await sim.transport.bulkOut(cbw(1, 512, 'in', cdb10(0x28, 0, 1)), T);
    const stuck = sim.transport.bulkIn(512, { timeoutMs: 0 });
    const port = sim.transport.portReset?.(T);
    await expect(stuck).rejects.toBeInstanceOf(TransportError);
    await port;
    expect((await run(sim, TUR)).status).toBe(0);
  });

  it('the write cache writes itself back when more than writeCacheBlocks are dirty', async () => {
    const sim = makeSim({ luns: [{ writeCacheBlocks: 4 }] });
    await run(sim, cdb10(0x2a, 0, 4), { out: pattern(2048, 1) });
    expect(sim.lun(0).dirtyBlocks).toBe(4);
    await run(sim, cdb10(0x2a, 4, 1), { out: pattern(512, 2) });
    expect(sim.lun(0).dirtyBlocks).toBe(0);
    sim.powerCut();
    sim.reconnect();
    expect((await run(sim, cdb10(0x28, 4, 1), { in: 512 })).data).toEqual(pattern(512, 2));
  });

  it('a medium-error fault with writes: true fails WRITE with 03/0C/00 after writing the blocks before it', async () => {
    const sim = makeSim({ luns: [{ writeCache: false }] });
    sim.inject({ kind: 'medium-error', lba: 2, writes: true });
    const data = pattern(2048, 3);
    expect((await run(sim, cdb10(0x2a, 0, 4), { out: data })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 3, asc: 0x0c, ascq: 0, info: 2 });
    expect(sim.lun(0).readBlocks(0, 2)).toEqual(data.subarray(0, 1024));
    expect(sim.lun(0).readBlocks(2, 2)).toEqual(new Uint8Array(1024));
  });

  it('a Get Max LUN override reports what a broken device would', async () => {
    const sim = makeSim({ getMaxLun: 0xff });
    expect((await sim.transport.classRequest({ request: 'get-max-lun' }, T)).data).toEqual(Uint8Array.of(0xff));
  });
});

describe('demo timings', () => {
  it('bytesPerSecond makes big transfers take longer; commandDelayMs makes the device NAK while it works', async () => {
    vi.useFakeTimers();
    const sim = makeSim({ bytesPerSecond: 1_000_000, commandDelayMs: (cdb) => (cdb[0] === 0x35 ? 40 : 0) });
    // Even a CBW takes 31 us at 1 MB/s.
    const sent = sim.transport.bulkOut(cbw(1, 0, 'out', cdb10(0x35, 0, 0)), T);
    await vi.advanceTimersByTimeAsync(1);
    expect((await sent).status).toBe('ok');
    let csw: Uint8Array | undefined;
    const p = sim.transport.bulkIn(13, T).then((r) => {
      csw = r.data;
    });
    await vi.advanceTimersByTimeAsync(37);
    expect(csw).toBeUndefined();
    expect(sim.state).toBe('busy');
    await vi.advanceTimersByTimeAsync(3);
    await p;
    expect(decodeCsw(csw ?? new Uint8Array(13)).tag).toBe(1);

    const sent2 = sim.transport.bulkOut(cbw(2, 10_000, 'in', cdb10(0x28, 0, 20)), T);
    await vi.advanceTimersByTimeAsync(1);
    await sent2;
    let got = 0;
    const data = sim.transport.bulkIn(10_000, T).then((r) => {
      got = r.data.length;
    });
    await vi.advanceTimersByTimeAsync(9);
    expect(got).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await data;
    expect(got).toBe(10_000);
  });
});
