import { NotFoundError, UnsupportedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { describeDevice, listDevices, requestDevice, watchDevices } from './discovery.js';
import { FakeUsb, FakeUsbDevice } from './fake/index.js';
import { ScriptedTransport } from './test-support.js';

const device = (options: Partial<ConstructorParameters<typeof FakeUsbDevice>[0]> = {}) => new FakeUsbDevice({ transport: new ScriptedTransport(), ...options });

describe('describeDevice', () => {
  it('gives the record @usbms/node gives, with the device object not enumerable', () => {
    const d = device({ vendorId: 0x0781, productId: 0x5581, serialNumber: 'S1' });
    const info = describeDevice(d);
    expect(info).toMatchObject({ id: '0781:5581:S1', vendorId: 0x0781, productId: 0x5581, serialNumber: 'S1' });
    expect(info.device).toBe(d);
    expect(info.interfaces).toEqual([
      {
        interfaceNumber: 0,
        alternates: [
          expect.objectContaining({ kind: 'bot', interfaceClass: 0x08, interfaceProtocol: 0x50, bulkIn: expect.objectContaining({ address: 0x81 }) }),
        ],
        botAlternate: 0,
        supported: true,
      },
    ]);
    expect(Object.keys(JSON.parse(JSON.stringify(info)))).not.toContain('device');
  });
});

describe('describeDevice: interfaces', () => {
  it('reports a UAS-only interface as not supported, with why', () => {
    const [iface] = describeDevice(device({ interfaceProtocol: 0x62 })).interfaces;
    expect(iface).toMatchObject({ supported: false, uasAlternate: 0, note: 'UAS-only device, not supported yet' });
  });
});

describe('requestDevice / listDevices', () => {
  it('asks for mass-storage devices plus the extra filters, in a form WebUSB accepts', async () => {
    const usb = new FakeUsb();
    const vendor = usb.plug(device({ interfaceClass: 0xff, vendorId: 0x1234, productId: 0x5678 }));
    const picked = await requestDevice({ filters: [{ vendorId: 0x1234, productId: 0x5678 }] }, { usb });
    expect(picked.device).toBe(vendor);
    expect(picked.id.startsWith('1234:5678')).toBe(true);
    expect(usb.requests[0]?.filters).toEqual([{ classCode: 0x08 }, { vendorId: 0x1234, productId: 0x5678 }]);
  });

  it('narrows every filter by the IDs given', async () => {
    const usb = new FakeUsb();
    usb.plug(device({ vendorId: 0x1234, productId: 0x0001 }));
    await requestDevice({ vendorId: 0x1234 }, { usb });
    expect(usb.requests[0]?.filters).toEqual([{ classCode: 0x08, vendorId: 0x1234 }]);
  });

  it('refuses to ask with no filter at all', async () => {
    await expect(requestDevice({ massStorageFilter: false }, { usb: new FakeUsb() })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reports a cancelled chooser as NotFoundError', async () => {
    const usb = new FakeUsb();
    usb.plug(device());
    usb.chooser = () => undefined;
    await expect(requestDevice({}, { usb })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists only permitted mass-storage devices matching the filter', async () => {
    const usb = new FakeUsb();
    const msc = usb.plug(device({ serialNumber: 'A' }), { permitted: true });
    usb.plug(device({ serialNumber: 'B' }), { permitted: true });
    usb.plug(device({ interfaceClass: 0xff }), { permitted: true });
    usb.plug(device());
    expect((await listDevices({}, { usb })).map((i) => i.serialNumber)).toEqual(['A', 'B']);
    expect((await listDevices({ serialNumber: 'A' }, { usb })).map((i) => i.device)).toEqual([msc]);
  });

  it('without WebUSB says where it exists; with it (Chromium, the browser suite) lists what the page was granted', async () => {
    // The unit suite runs this file in Node (no navigator.usb), the browser suite in Chromium (WebUSB on localhost).
    if ((globalThis as { navigator?: { usb?: unknown } }).navigator?.usb === undefined) {
      await expect(listDevices()).rejects.toBeInstanceOf(UnsupportedError);
      await expect(listDevices()).rejects.toThrow(/Chromium-based browsers/);
    } else {
      expect(await listDevices()).toEqual([]);
    }
  });
});

describe('watchDevices', () => {
  it('reports mass-storage devices coming and going until stopped', () => {
    const usb = new FakeUsb();
    const seen: string[] = [];
    const stop = watchDevices({ onAttach: (d) => seen.push(`+${d.id}`), onDetach: (d) => seen.push(`-${d.serialNumber}`) }, { usb });
    const a = usb.plug(device({ serialNumber: 'A', vendorId: 1, productId: 2 }));
    usb.plug(device({ serialNumber: 'HID', interfaceClass: 0x03 }));
    a.unplug();
    stop();
    usb.plug(device({ serialNumber: 'B' }));
    expect(seen).toEqual(['+0001:0002:A', '-A']);
  });

  it('with includeExisting reports the permitted devices already attached', async () => {
    const usb = new FakeUsb();
    usb.plug(device({ serialNumber: 'OLD' }), { permitted: true });
    const seen: string[] = [];
    const stop = watchDevices({ onAttach: (d) => seen.push(d.serialNumber ?? '?') }, { usb, includeExisting: true, filter: { serialNumber: 'OLD' } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    stop();
    expect(seen).toEqual(['OLD']);
  });
});
