import { AbortError, DisconnectedError, ProtectedClassError, TimeoutError, TransportError, UsbmsErrorCode } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import type { FakeUsbDeviceOptions } from './fake/index.js';
import { FakeUsb, FakeUsbDevice } from './fake/index.js';
import { ScriptedTransport } from './test-support.js';
import type { WebUsbTransportOptions } from './transport.js';
import { WebUsbTransport } from './transport.js';
import type { UsbInTransferResultLike } from './webusb-types.js';

const T = { timeoutMs: 5000 };

async function setup(deviceOptions: Partial<FakeUsbDeviceOptions> = {}, options: WebUsbTransportOptions = {}) {
  const backing = new ScriptedTransport();
  const usb = new FakeUsb();
  const device = usb.plug(new FakeUsbDevice({ transport: backing, ...deviceOptions }));
  const transport = await WebUsbTransport.open(device, { usb, cancelGraceMs: 200, ...options });
  return { backing, usb, device, transport };
}

describe('WebUsbTransport.open', () => {
  it('opens, claims the BOT interface and describes it, without selecting a configuration that is active', async () => {
    const { device, transport } = await setup({ vendorId: 0x0781, productId: 0x5581, productName: 'Cruzer' });
    expect(device.calls).toEqual(['open()', 'claimInterface(0)']);
    expect(transport.info).toMatchObject({
      maxPacketSizeIn: 512,
      maxPacketSizeOut: 512,
      speed: 'high',
      vendorId: 0x0781,
      productId: 0x5581,
      product: 'Cruzer',
      interfaceNumber: 0,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
      maxTransferSize: 32 * 1024 * 1024,
    });
  });

  it('selects configuration 1 only when the device has none', async () => {
    const { device } = await setup({ unconfigured: true });
    expect(device.calls).toEqual(['open()', 'selectConfiguration(1)', 'claimInterface(0)']);
  });

  it('uses the BOT alternate setting of a UAS-capable interface and full-speed packet sizes', async () => {
    const { transport } = await setup({ uasAlternate: true, packetSize: 64 });
    expect(transport.botInterface.alternateSetting).toBe(0);
    expect(transport.info.speed).toBe('full');
  });

  it('turns the protected-class SecurityError into ProtectedClassError that says what works instead, and closes', async () => {
    const usb = new FakeUsb();
    const device = usb.plug(new FakeUsbDevice({ transport: new ScriptedTransport(), protectedClass: true }));
    const error: unknown = await WebUsbTransport.open(device, { usb }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtectedClassError);
    const message = (error as Error).message;
    for (const remedy of ['setUSBProtectedClassesHandler', 'usb-unrestricted', 'vendor-specific', '@usbms/node']) expect(message).toContain(remedy);
    expect(device.opened).toBe(false);
  });

  it('claims a vendor-class BOT interface when asked by number', async () => {
    const { transport, device } = await setup(
      { interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, protectedClass: true },
      { interfaceNumber: 0 },
    );
    expect(transport.info.interfaceNumber).toBe(0);
    expect(device.calls).toContain('claimInterface(0)');
  });
});

describe('WebUsbTransport transfers', () => {
  it('passes bulk data both ways and writes into a caller buffer', async () => {
    const { backing, transport } = await setup();
    const out = await transport.bulkOut(Uint8Array.of(1, 2, 3), T);
    expect(out).toEqual({ status: 'ok', bytesWritten: 3 });
    expect(backing.written).toEqual([Uint8Array.of(1, 2, 3)]);
    const into = new Uint8Array(16).fill(0xee);
    const r = await transport.bulkIn(8, { ...T, into });
    expect(r.status).toBe('ok');
    expect([...r.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.data.buffer).toBe(into.buffer);
    expect(into[8]).toBe(0xee);
  });

  it('returns short packets, stalls and babble as results', async () => {
    const { backing, transport } = await setup();
    backing.nextIn = [5, 'stall', 'babble'];
    expect((await transport.bulkIn(13, T)).data.length).toBe(5);
    expect(await transport.bulkIn(13, T)).toEqual({ status: 'stall', data: new Uint8Array(0) });
    expect((await transport.bulkIn(13, T)).status).toBe('babble');
    backing.nextOut = ['stall'];
    expect(await transport.bulkOut(new Uint8Array(31), T)).toEqual({ status: 'stall', bytesWritten: 0 });
  });

  it('splits transfers longer than the platform limit and stops at a short chunk', async () => {
    const { backing, device, transport } = await setup({}, { maxTransferSize: 1024 });
    const r = await transport.bulkIn(3000, T);
    expect(backing.inLengths).toEqual([1024, 1024, 952]);
    expect(r.data.length).toBe(3000);
    expect(r.data[1024]).toBe(0);
    backing.nextIn = [1024, 100];
    const short = await transport.bulkIn(4096, T);
    expect(short.data.length).toBe(1124);
    await transport.bulkOut(new Uint8Array(2100), T);
    expect(backing.written.map((w) => w.length)).toEqual([1024, 1024, 52]);
    expect(device.calls.filter((c) => c.startsWith('transferOut'))).toEqual(['transferOut(2, 1024)', 'transferOut(2, 1024)', 'transferOut(2, 52)']);
  });

  it("splits at Chromium's 32 MiB limit by default (the fake rejects larger transfers like Chromium)", async () => {
    const { backing, transport } = await setup();
    const total = 32 * 1024 * 1024 + 4096;
    const into = new Uint8Array(total);
    const r = await transport.bulkIn(total, { ...T, into });
    expect(backing.inLengths).toEqual([32 * 1024 * 1024, 4096]);
    expect(r.data.length).toBe(total);
    expect(r.data[32 * 1024 * 1024 + 1]).toBe(1);
  });

  it('sends Get Max LUN and Bulk-Only Reset as class requests to the interface', async () => {
    const { backing, device, transport } = await setup();
    backing.maxLun = 3;
    const r = await transport.classRequest({ request: 'get-max-lun' }, T);
    expect(r).toEqual({ status: 'ok', data: Uint8Array.of(3) });
    await transport.classRequest({ request: 'bulk-only-reset' }, T);
    expect(backing.classRequests).toEqual(['get-max-lun', 'bulk-only-reset']);
    expect(device.calls).toContain('controlTransferIn(class interface 0xfe, 1)');
    expect(device.calls).toContain('controlTransferOut(class interface 0xff)');
  });

  it('reports a class request blocked for a protected interface as ProtectedClassError', async () => {
    const { device, transport } = await setup();
    device.protectedClass = true;
    await expect(transport.classRequest({ request: 'get-max-lun' }, T)).rejects.toBeInstanceOf(ProtectedClassError);
  });

  it('clears halts on the right endpoint', async () => {
    const { device, transport } = await setup();
    await transport.clearHalt('in', T);
    await transport.clearHalt('out', T);
    expect(device.calls.slice(-2)).toEqual(['clearHalt(in, 1)', 'clearHalt(out, 2)']);
  });
});

describe('WebUsbTransport timeouts and aborts', () => {
  it('rejects with AbortError before submitting when the signal already fired', async () => {
    const { device, transport } = await setup();
    const before = device.calls.length;
    await expect(transport.bulkIn(13, { ...T, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(device.calls.length).toBe(before);
  });

  it('cancels a timed-out transfer with reset() and stays usable', async () => {
    const { backing, device, transport } = await setup();
    backing.nextIn = ['hang'];
    await expect(transport.bulkIn(13, { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    expect(device.calls).toContain('reset()');
    expect(device.calls).not.toContain('close()');
    expect((await transport.bulkIn(4, T)).data.length).toBe(4);
  });

  it('cancels an aborted transfer the same way', async () => {
    const { backing, device, transport } = await setup();
    backing.nextOut = ['hang'];
    const ctl = new AbortController();
    const p = transport.bulkOut(new Uint8Array(31), { ...T, signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(device.calls).toContain('reset()');
    expect((await transport.bulkOut(new Uint8Array(31), T)).status).toBe('ok');
  });

  it('falls back to close, reopen and re-claim where reset() is refused (WinUSB)', async () => {
    const { backing, device, transport } = await setup({ resetRefused: true });
    backing.nextIn = ['hang'];
    await expect(transport.bulkIn(13, { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    const after = device.calls.slice(device.calls.indexOf('reset()'));
    expect(after.slice(0, 4)).toEqual(['reset()', 'close()', 'open()', 'claimInterface(0)']);
    expect((await transport.bulkIn(4, T)).data.length).toBe(4);
  });

  it('refuses further use with a clear error when a cancelled transfer never settles', async () => {
    class StuckDevice extends FakeUsbDevice {
      override transferIn(): Promise<UsbInTransferResultLike> {
        return new Promise(() => undefined);
      }
    }
    const usb = new FakeUsb();
    const device = usb.plug(new StuckDevice({ transport: new ScriptedTransport() }));
    const transport = await WebUsbTransport.open(device, { usb, cancelGraceMs: 20 });
    await expect(transport.bulkIn(13, { timeoutMs: 20 })).rejects.toBeInstanceOf(TimeoutError);
    const next = await transport.bulkOut(new Uint8Array(1), T).catch((e: unknown) => e);
    expect(next).toBeInstanceOf(TransportError);
    expect((next as Error).message).toMatch(/reconnect/);
  });
});

describe('WebUsbTransport disconnect and close', () => {
  it('rejects a pending transfer with DisconnectedError on unplug and notifies listeners once', async () => {
    const { backing, device, transport } = await setup();
    let notified = 0;
    transport.onDisconnect(() => notified++);
    backing.nextIn = ['hang'];
    const p = transport.bulkIn(13, T);
    await Promise.resolve();
    device.unplug();
    const error: unknown = await p.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DisconnectedError);
    expect(notified).toBe(1);
    await expect(transport.bulkOut(new Uint8Array(1), T)).rejects.toMatchObject({ code: UsbmsErrorCode.Disconnected });
    await transport.close();
  });

  it('learns of a disconnect from the transfer error where no USB object delivers events', async () => {
    const backing = new ScriptedTransport();
    const device = new FakeUsb().plug(new FakeUsbDevice({ transport: backing }));
    const transport = await WebUsbTransport.open(device, { usb: new FakeUsb() });
    let notified = 0;
    transport.onDisconnect(() => notified++);
    backing.nextIn = ['hang'];
    const p = transport.bulkIn(13, T);
    await new Promise((r) => setTimeout(r, 5));
    device.unplug();
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    expect(notified).toBe(1);
    expect(transport.disconnected).toBe(true);
  });

  it('the fake unplugs when its backing transport reports the device gone (Chromium fails a transfer with NotFoundError only then)', async () => {
    const backing = new ScriptedTransport();
    const usb = new FakeUsb();
    const device = usb.plug(new FakeUsbDevice({ transport: backing }));
    const events: string[] = [];
    usb.addEventListener('disconnect', () => events.push('disconnect'));
    await device.open();
    await device.claimInterface(0);
    backing.nextOut = ['hang'];
    const pending = device.transferOut(2, new Uint8Array(1));
    backing.bulkIn = async () => {
      throw new DisconnectedError();
    };
    await expect(device.transferIn(1, 13)).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(pending).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(device.unplugged).toBe(true);
    expect(device.opened).toBe(false);
    expect(events).toEqual(['disconnect']);
  });

  it('fails a transfer cut short by close() with ClosedError', async () => {
    const { backing, transport } = await setup();
    backing.nextIn = ['hang'];
    const p = transport.bulkIn(13, T);
    await new Promise((r) => setTimeout(r, 5));
    await transport.close();
    await expect(p).rejects.toMatchObject({ code: UsbmsErrorCode.Closed });
  });

  it('ignores disconnect events of other devices', async () => {
    const { usb, transport } = await setup();
    let notified = 0;
    transport.onDisconnect(() => notified++);
    usb.plug(new FakeUsbDevice({ transport: new ScriptedTransport() })).unplug();
    expect(notified).toBe(0);
  });

  it('releases the interface and closes the device once', async () => {
    const { device, transport } = await setup();
    await transport.close();
    await transport.close();
    expect(device.calls.slice(-2)).toEqual(['releaseInterface(0)', 'close()']);
    expect(device.opened).toBe(false);
    await expect(transport.bulkIn(1, T)).rejects.toMatchObject({ code: UsbmsErrorCode.Closed });
  });

  it('port-resets and re-selects a non-zero alternate setting', async () => {
    const { device, transport } = await setup({ uasAlternate: true, interfaceProtocol: 0x62 }, { interfaceNumber: 0, alternateSetting: 1 });
    expect(device.calls).toContain('selectAlternateInterface(0, 1)');
    device.calls.length = 0;
    await transport.portReset(T);
    expect(device.calls).toEqual(['reset()', 'selectAlternateInterface(0, 1)']);
  });
});
