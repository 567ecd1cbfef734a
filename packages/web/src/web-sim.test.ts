import type { MscDevice, TraceEvent } from '@usbms/core';
import { AbortError, DisconnectedError, ProtectedClassError, TimeoutError } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
import { requestDevice } from './discovery.js';
import type { FakeUsbDeviceOptions } from './fake/index.js';
import { FakeUsb, FakeUsbDevice } from './fake/index.js';
import { openDevice } from './open.js';

/** The whole browser path without a browser: MscDevice → WebUsbTransport → fake USBDevice → simulator. */
async function open(options: Partial<FakeUsbDeviceOptions> = {}, sim = new SimulatedDevice({ luns: [{ product: 'Web Sim', blocks: 2048 }] })) {
  const usb = new FakeUsb();
  const fake = usb.plug(new FakeUsbDevice({ transport: sim.transport, ...options }));
  const chosen = await requestDevice({}, { usb });
  const device: MscDevice = await openDevice(chosen, { usb, cancelGraceMs: 1000 });
  return { usb, fake, sim, device };
}

const inquiryCdb = Uint8Array.of(0x12, 0, 0, 0, 36, 0);

describe('openDevice over the simulator', () => {
  it('discovers the LUN and does block I/O, raw commands and tracing', async () => {
    const { device, fake } = await open();
    expect(device.lun(0).inquiry?.product).toBe('Web Sim');
    const cap = await device.lun(0).readCapacity();
    expect(cap).toMatchObject({ blocks: 2048, blockSize: 512 });
    const events: TraceEvent['type'][] = [];
    device.onTrace((e) => events.push(e.type));
    const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    await device.lun(0).write(10, data);
    expect(await device.lun(0).read(10, 8)).toEqual(data);
    const r = await device.execute({ cdb: inquiryCdb, direction: 'in', length: 36 });
    expect(r.status).toBe('good');
    expect(events).toEqual(expect.arrayContaining(['command-start', 'cbw', 'data', 'csw', 'command-end']));
    expect(fake.calls).toContain('controlTransferIn(class interface 0xfe, 1)');
    await device.close();
    expect(fake.opened).toBe(false);
  });

  it('reads the status of a TEST UNIT READY or WRITE together with its CBW (early status), data intact', async () => {
    const { device, fake } = await open();
    expect(device.earlyStatus).toBe(true);
    await device.lun(0).readCapacity();
    fake.calls.length = 0;
    await device.lun(0).testUnitReady();
    expect(fake.calls).toEqual(['transferOut(2, 31)', 'transferIn(1, 13)']);
    fake.calls.length = 0;
    const data = new Uint8Array(2048).map((_, i) => (i * 13) & 0xff);
    await device.lun(0).write(20, data);
    // The CSW read is submitted before the data-out, and stays pending through it.
    expect(fake.calls.filter((c) => c.startsWith('transfer'))).toEqual(['transferOut(2, 31)', 'transferIn(1, 13)', 'transferOut(2, 2048)']);
    expect(await device.lun(0).read(20, 4)).toEqual(data);
    expect(device.earlyStatus).toBe(true);
  });

  it('a device that stalls the early status read (like QEMU) is recovered and read the usual way from then on', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 2048 }], stallEarlyIn: true });
    const { device } = await open({}, sim);
    const data = new Uint8Array(4096).fill(0x5a);
    await device.lun(0).write(0, data);
    expect(device.earlyStatus).toBe(false);
    expect(await device.lun(0).read(0, 8)).toEqual(data);
    expect(sim.violations).toEqual([]);
  });

  it('a hung data-out with the early status read pending: reset() cancels both, and the next commands work', async () => {
    const { device, fake, sim } = await open();
    sim.inject({ kind: 'hang', stage: 'data' });
    await expect(device.lun(0).write(0, new Uint8Array(1024), { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
    expect(fake.calls).toContain('reset()');
    await device.lun(0).testUnitReady({ timeoutMs: 5000 });
    const data = new Uint8Array(1024).fill(7);
    await device.lun(0).write(0, data);
    expect(await device.lun(0).read(0, 2)).toEqual(data);
  });

  it('times out a hung device, cancels the transfer with reset() and keeps working', async () => {
    const { device, fake, sim } = await open();
    sim.inject({ kind: 'hang', stage: 'csw' });
    await expect(device.lun(0).testUnitReady({ timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
    expect(fake.calls).toContain('reset()');
    await device.lun(0).testUnitReady({ timeoutMs: 5000 });
    expect((await device.execute({ cdb: inquiryCdb, direction: 'in', length: 36 })).status).toBe('good');
  });

  it('recovers through close and reopen where reset() is refused (WinUSB)', async () => {
    const { device, fake, sim } = await open({ resetRefused: true });
    sim.inject({ kind: 'hang', stage: 'data' });
    await expect(device.lun(0).read(0, 1, { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
    // The queue starts the next command only after the timed-out one finished its recovery.
    expect((await device.lun(0).read(0, 1)).length).toBe(512);
    const tail = fake.calls.slice(fake.calls.indexOf('reset()'));
    expect(tail.slice(0, 4)).toEqual(['reset()', 'close()', 'open()', 'claimInterface(0)']);
  });

  it('aborts a command in flight and keeps working', async () => {
    const { device, fake } = await open();
    fake.holdTransfers();
    const ctl = new AbortController();
    const p = device.lun(0).read(0, 1, { signal: ctl.signal });
    await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    fake.releaseTransfers();
    expect((await device.lun(0).read(0, 1)).length).toBe(512);
  });

  it('reports an unplug mid-command as DisconnectedError and notifies', async () => {
    const { device, fake, sim } = await open();
    let notified = false;
    device.onDisconnect(() => (notified = true));
    fake.holdTransfers();
    const p = device.lun(0).read(0, 4);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.pendingTransfers).toBeGreaterThan(0);
    fake.unplug();
    sim.disconnect();
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    expect(notified).toBe(true);
    expect(device.state).toBe('disconnected');
    await expect(device.lun(0).testUnitReady()).rejects.toMatchObject({ code: expect.stringMatching(/DISCONNECTED|CLOSED/) });
  });

  it('refuses a protected interface with ProtectedClassError and leaves the device closed', async () => {
    const usb = new FakeUsb();
    const fake = usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport, protectedClass: true }));
    await expect(openDevice(fake, { usb })).rejects.toBeInstanceOf(ProtectedClassError);
    expect(fake.opened).toBe(false);
  });

  it('opens a vendor-class BOT interface that Chromium does not protect, chosen by VID/PID', async () => {
    const usb = new FakeUsb();
    const options = { interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, protectedClass: true, vendorId: 0x1234, productId: 0x5678 };
    usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport, ...options }));
    const chosen = await requestDevice({ filters: [{ vendorId: 0x1234, productId: 0x5678 }] }, { usb });
    const d = await openDevice(chosen, { usb, interfaceNumber: 0 });
    expect(d.lun(0).inquiry?.vendor).toBe('USBMS');
    await d.close();
  });
});
