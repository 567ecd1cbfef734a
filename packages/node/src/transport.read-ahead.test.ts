/**
 * NodeUsbTransport `readStatusWithData`: a whole-packet data-in transfer gets
 * room for the CSW packet that follows it; those bytes are what the next
 * bulkIn returns, with no USB transfer. Off by default.
 */
import type { MscDevice } from '@usbms/core';
import { CSW_SIGNATURE, CswStatus, encodeCsw } from '@usbms/core/internal';
import { SimulatedDevice } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
import { openDevice } from './index.js';
import { FakeUsb, FakeUsbDevice } from './testing/fake-usb.js';
import { SimUsbDevice } from './testing/sim-usb-device.js';
import { NodeUsbTransport, type NodeUsbTransportOptions } from './transport.js';

const OPTS = { timeoutMs: 1000 };

async function openFake(options: NodeUsbTransportOptions = {}) {
  const device = new FakeUsbDevice();
  const usb = new FakeUsb([device]);
  const transport = await NodeUsbTransport.open(device, { platform: 'darwin', usb, ...options });
  return { device, transport };
}

const csw = (tag: number, residue = 0): Uint8Array => encodeCsw({ signature: CSW_SIGNATURE, tag, residue, status: CswStatus.Passed });
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('NodeUsbTransport readStatusWithData', () => {
  it('is off by default: a whole-packet read asks for exactly its length', async () => {
    const on = await openFake({ readStatusWithData: true });
    expect(on.transport.readsStatusWithData).toBe(true);
    on.device.inReplies.push(new Uint8Array(1024).fill(7));
    await on.transport.bulkIn(1024, OPTS);
    expect(on.device.inLengths).toEqual([1024 + 512]);
    const { device, transport } = await openFake();
    expect(transport.readsStatusWithData).toBe(false);
    device.inReplies.push(new Uint8Array(1024).fill(7));
    const r = await transport.bulkIn(1024, OPTS);
    expect(r).toMatchObject({ status: 'ok' });
    expect(device.inLengths).toEqual([1024]);
  });

  it('a stalled read-ahead followed by a CSW with residue 0 (data lost to the larger read) turns it off', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push('stall', csw(4, 0));
    expect((await transport.bulkIn(1024, OPTS)).status).toBe('stall');
    await transport.clearHalt('in', OPTS);
    expect((await transport.bulkIn(13, OPTS)).data).toEqual(csw(4, 0));
    expect(transport.readsStatusWithData).toBe(false);
    device.inReplies.push(new Uint8Array(1024));
    await transport.bulkIn(1024, OPTS);
    expect(device.inLengths.at(-1)).toBe(1024);
  });

  it('a stalled read-ahead whose CSW reports a residue (the device sent less: a plain read loses it too) keeps it on', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push('stall', csw(4, 1024));
    expect((await transport.bulkIn(1024, OPTS)).status).toBe('stall');
    await transport.clearHalt('in', OPTS);
    await transport.bulkIn(13, OPTS);
    expect(transport.readsStatusWithData).toBe(true);
  });

  it('reads data and CSW in one transfer and hands the CSW to the next bulkIn without a transfer', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    const data = new Uint8Array(1024).map((_, i) => i & 0xff);
    device.inReplies.push(concat(data, csw(5)));
    const into = new Uint8Array(1024);
    const r = await transport.bulkIn(1024, { ...OPTS, into });
    expect(r.status).toBe('ok');
    expect(r.data).toEqual(data);
    expect(r.data.buffer).toBe(into.buffer);
    expect(device.inLengths).toEqual([1024 + 512]);
    const s = await transport.bulkIn(13, OPTS);
    expect(s).toEqual({ status: 'ok', data: csw(5) });
    expect(device.inLengths).toEqual([1024 + 512]);
  });

  it('leaves short and unaligned reads alone', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push(new Uint8Array(100), new Uint8Array(512), csw(1));
    expect((await transport.bulkIn(100, OPTS)).data.length).toBe(100);
    // The data stage ended with the full request: the CSW is read on its own.
    expect((await transport.bulkIn(1024, OPTS)).data.length).toBe(512);
    expect((await transport.bulkIn(13, OPTS)).data).toEqual(csw(1));
    expect(device.inLengths).toEqual([512, 1536, 512]);
  });

  it('a full extra packet is still babble for the read that gets it', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push(new Uint8Array(1024 + 512));
    expect((await transport.bulkIn(1024, OPTS)).status).toBe('ok');
    const s = await transport.bulkIn(13, OPTS);
    expect(s.status).toBe('babble');
    expect(s.data.length).toBe(13);
  });

  it.each([
    ['a bulk-out', (t: NodeUsbTransport) => t.bulkOut(new Uint8Array(31), OPTS)],
    ['a clear-halt', (t: NodeUsbTransport) => t.clearHalt('in', OPTS)],
    ['a Bulk-Only reset', (t: NodeUsbTransport) => t.classRequest({ request: 'bulk-only-reset' }, OPTS)],
  ])('drops bytes read ahead at %s', async (_name, between) => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push(concat(new Uint8Array(512), csw(9)), csw(10));
    await transport.bulkIn(512, OPTS);
    await between(transport);
    expect((await transport.bulkIn(13, OPTS)).data).toEqual(csw(10));
    expect(device.inLengths).toEqual([1024, 512]);
  });

  it('refuses a read answered from the read-ahead once the transport is closed', async () => {
    const { device, transport } = await openFake({ readStatusWithData: true });
    device.inReplies.push(concat(new Uint8Array(512), csw(3)));
    await transport.bulkIn(512, OPTS);
    await transport.close();
    await expect(transport.bulkIn(13, OPTS)).rejects.toMatchObject({ code: expect.any(String) });
  });

  it('end to end through MscDevice: data and CSWs of reads of every shape are right', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 4096 }] });
    const device = new SimUsbDevice(sim, { vendorId: 0x1209, productId: 0x5553, serialNumber: 'RA1' });
    const usb = new FakeUsb([device]);
    const msc: MscDevice = await openDevice('1209:5553', { usb, platform: 'darwin', readStatusWithData: true });
    const lu = msc.lun(0);
    const pattern = new Uint8Array(256 * 512).map((_, i) => (i * 31 + (i >> 9)) & 0xff);
    await lu.write(0, pattern);
    for (const blocks of [1, 2, 7, 64, 256]) expect(await lu.read(0, blocks)).toEqual(pattern.subarray(0, blocks * 512));
    // A command the device fails (beyond the end) still comes back as sense, and the next one works.
    const bad = await msc.execute({ cdb: new Uint8Array([0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0]), direction: 'in', length: 512 });
    expect(bad.status).toBe('check-condition');
    expect(await lu.read(3, 1)).toEqual(pattern.subarray(1536, 2048));
    await msc.close();
  });
});
