import { ProtectedClassError } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import type { UsbLike } from '@usbms/web';
import { listDevices, WebUsbTransport } from '@usbms/web';
import { ChromiumMessages, FakeUsb, FakeUsbDevice, makeInResult, makeOutResult } from '@usbms/web/fake';
import { describe, expect, it } from 'vitest';

type Ctor = abstract new (...args: never[]) => unknown;
const g = globalThis as unknown as { USBInTransferResult: Ctor; USBOutTransferResult: Ctor; navigator: { usb?: UsbLike } };

describe('WebUSB in real Chromium', () => {
  it('has navigator.usb on a localhost page, with no permitted devices', async () => {
    expect(g.navigator.usb).toBeDefined();
    expect(await listDevices()).toEqual([]);
  });

  it("builds Chromium's own transfer result objects in the fake", () => {
    const r = makeInResult('ok', Uint8Array.of(1, 2, 3));
    expect(r).toBeInstanceOf(g.USBInTransferResult);
    expect(r.status).toBe('ok');
    expect(r.data?.byteLength).toBe(3);
    expect(makeInResult('stall')).toBeInstanceOf(g.USBInTransferResult);
    const o = makeOutResult('stall', 0);
    expect(o).toBeInstanceOf(g.USBOutTransferResult);
    expect(o.status).toBe('stall');
  });

  it('reads through the adapter from real result objects', async () => {
    const usb = new FakeUsb();
    const fake = usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport }));
    const t = await WebUsbTransport.open(fake, { usb });
    const lun = await t.classRequest({ request: 'get-max-lun' }, { timeoutMs: 5000 });
    expect(lun.status).toBe('ok');
    await t.close();
  });

  it("maps Chromium's protected-class DOMException", async () => {
    const usb = new FakeUsb();
    const fake = usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport, protectedClass: true }));
    const error: unknown = await WebUsbTransport.open(fake, { usb }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtectedClassError);
    expect((error as Error).cause).toBeInstanceOf(DOMException);
    expect(((error as Error).cause as DOMException).message).toBe(ChromiumMessages.protectedClass);
  });
});
