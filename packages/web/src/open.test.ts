import { NotFoundError, UnsupportedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { findBotInterface } from './descriptors.js';
import { FakeUsb, FakeUsbDevice } from './fake/index.js';
import { getMscDevices, MSC_FILTERS, requestMscDevice, watchMscDevices } from './open.js';
import { ScriptedTransport } from './test-support.js';

const device = (options: Partial<ConstructorParameters<typeof FakeUsbDevice>[0]> = {}) => new FakeUsbDevice({ transport: new ScriptedTransport(), ...options });

describe('requestMscDevice / getMscDevices', () => {
  it('asks for mass-storage devices plus the user filters, in a form WebUSB accepts', async () => {
    const usb = new FakeUsb();
    const vendor = usb.plug(device({ interfaceClass: 0xff, vendorId: 0x1234, productId: 0x5678 }));
    const picked = await requestMscDevice(usb, { filters: [{ vendorId: 0x1234, productId: 0x5678 }] });
    expect(picked).toBe(vendor);
    expect(usb.requests[0]?.filters).toEqual([...MSC_FILTERS, { vendorId: 0x1234, productId: 0x5678 }]);
  });

  it('reports a cancelled chooser as NotFoundError', async () => {
    const usb = new FakeUsb();
    usb.plug(device());
    usb.chooser = () => undefined;
    await expect(requestMscDevice(usb)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists only permitted mass-storage devices', async () => {
    const usb = new FakeUsb();
    const msc = usb.plug(device(), { permitted: true });
    usb.plug(device({ interfaceClass: 0xff }), { permitted: true });
    usb.plug(device());
    expect(await getMscDevices(usb)).toEqual([msc]);
  });
});

describe('watchMscDevices', () => {
  it('reports mass-storage devices coming and going until stopped', () => {
    const usb = new FakeUsb();
    const seen: string[] = [];
    const stop = watchMscDevices(usb, { onConnect: (d) => seen.push(`+${d.serialNumber}`), onDisconnect: (d) => seen.push(`-${d.serialNumber}`) });
    const a = usb.plug(device({ serialNumber: 'A' }));
    usb.plug(device({ serialNumber: 'HID', interfaceClass: 0x03 }));
    a.unplug();
    stop();
    usb.plug(device({ serialNumber: 'B' }));
    expect(seen).toEqual(['+A', '-A']);
  });
});

describe('findBotInterface', () => {
  it('refuses a UAS-only device with UnsupportedError', () => {
    expect(() => findBotInterface(device({ interfaceProtocol: 0x62 }))).toThrow(UnsupportedError);
  });

  it('needs an explicit interface number for a vendor-class interface', () => {
    const d = device({ interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0 });
    expect(() => findBotInterface(d)).toThrow(/vendor-specific interface, pass \{ interfaceNumber \}/);
    expect(findBotInterface(d, { interfaceNumber: 0 })).toMatchObject({ interfaceClass: 0xff, bulkIn: { endpointNumber: 1 }, bulkOut: { endpointNumber: 2 } });
    expect(() => findBotInterface(d, { interfaceNumber: 3 })).toThrow(NotFoundError);
  });

  it('picks the BOT alternate setting when UAS is also offered', () => {
    expect(findBotInterface(device({ uasAlternate: true })).alternateSetting).toBe(0);
  });
});
