import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { SimulatedDevice } from '../sim/device.js';
import { RecordingTransport, type UrbEvent } from './recording-transport.js';
import { toHex } from './transcript.js';

describe('RecordingTransport', () => {
  it('reports submission and completion of every transfer, control requests with their SETUP packets', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 64, blockSize: 512 }] });
    const recording = new RecordingTransport(sim.transport, { clock: () => 1000 });
    const events: UrbEvent[] = [];
    const off = recording.on((e) => events.push(e));
    recording.on(() => {
      throw new Error('a faulty listener never breaks a transfer');
    });
    expect(recording.concurrentPipes).toBe(true);
    // The wrapper passes `into` on as given: it writes where the inner transport writes.
    expect(recording.writesIntoDirectly).toBe(false);
    expect(
      new RecordingTransport(Object.assign(Object.create(sim.transport) as object, { writesIntoDirectly: true }) as typeof sim.transport).writesIntoDirectly,
    ).toBe(true);
    const device = await MscDevice.open(recording);
    sim.inject({ kind: 'stall-csw', opcode: 0x00 });
    await device.lun(0).testUnitReady();
    await device.reset();
    await device.close();
    off();
    const line = (e: UrbEvent): string =>
      `${e.phase === 'submit' ? 'S' : 'C'} ${e.id} ${e.operation.kind} ep=${e.endpoint.toString(16)}${e.setup === undefined ? '' : ` setup=${toHex(e.setup)}`} len=${e.length}${e.phase === 'complete' ? ` ${e.status}` : ''}`;
    const lines = events.map(line);
    // Get Max LUN: A1 FE, wIndex = interface 0, wLength 1 (BOT 1.0 §3.2).
    expect(lines[0]).toBe('S 1 class ep=80 setup=a1fe000000000100 len=1');
    expect(lines[1]).toBe('C 1 class ep=80 setup=a1fe000000000100 len=1 ok');
    // A stalled CSW read, CLEAR_FEATURE(ENDPOINT_HALT) on 0x81 (USB 2.0 §9.4.1), the CSW read again (BOT 1.0 §5.3.3).
    // The early status read (6) is submitted before the CBW (5) completes.
    expect(lines.slice(8, 16)).toEqual([
      'S 5 bulk-out ep=2 len=31',
      'S 6 bulk-in ep=81 len=13',
      'C 5 bulk-out ep=2 len=31 ok',
      'C 6 bulk-in ep=81 len=0 stall',
      'S 7 clear-halt ep=0 setup=0201000081000000 len=0',
      'C 7 clear-halt ep=0 setup=0201000081000000 len=0 ok',
      'S 8 bulk-in ep=81 len=13',
      'C 8 bulk-in ep=81 len=13 ok',
    ]);
    // Bulk-Only Mass Storage Reset: 21 FF, wIndex = interface (BOT 1.0 §3.1), then clear halt on both pipes (§5.3.4).
    expect(lines.slice(16, 22)).toEqual([
      'S 9 class ep=0 setup=21ff000000000000 len=0',
      'C 9 class ep=0 setup=21ff000000000000 len=0 ok',
      'S 10 clear-halt ep=0 setup=0201000081000000 len=0',
      'C 10 clear-halt ep=0 setup=0201000081000000 len=0 ok',
      'S 11 clear-halt ep=0 setup=0201000002000000 len=0',
      'C 11 clear-halt ep=0 setup=0201000002000000 len=0 ok',
    ]);
    expect(events.every((e) => e.time === 1000)).toBe(true);
    expect(events.filter((e) => e.phase === 'submit')).toHaveLength(events.filter((e) => e.phase === 'complete').length);
  });

  it('reports a transfer that throws as a completion with a status, and rethrows', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 64, blockSize: 512 }] });
    const recording = new RecordingTransport(sim.transport);
    const events: UrbEvent[] = [];
    recording.on((e) => events.push(e));
    const controller = new AbortController();
    sim.inject({ kind: 'hang', stage: 'csw' });
    const pending = recording.bulkIn(13, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(events.at(-1)).toMatchObject({ phase: 'complete', status: 'cancelled', length: 0 });
  });
});
