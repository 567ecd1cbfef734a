import { NotFoundError, UnsupportedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { findBotInterface } from './descriptors.js';
import { FakeUsb, FakeUsbDevice } from './fake/index.js';
import { getMscDevices, openDevice, openWebUsbDevice, requestMscDevice, watchMscDevices } from './open.js';
import { ScriptedTransport } from './test-support.js';

const device = (options: Partial<ConstructorParameters<typeof FakeUsbDevice>[0]> = {}) => new FakeUsbDevice({ transport: new ScriptedTransport(), ...options });

describe('the deprecated names (removed in 0.3) keep their 0.1 behaviour', () => {
  it('openWebUsbDevice is openDevice', () => {
    expect(openWebUsbDevice).toBe(openDevice);
  });

  it('requestMscDevice and getMscDevices resolve WebUSB device objects', async () => {
    const usb = new FakeUsb();
    const vendor = usb.plug(device({ interfaceClass: 0xff, vendorId: 0x1234, productId: 0x5678 }), { permitted: true });
    const msc = usb.plug(device(), { permitted: true });
    expect(await requestMscDevice(usb, { filters: [{ vendorId: 0x1234, productId: 0x5678 }] })).toBe(vendor);
    expect(usb.requests[0]?.filters).toEqual([{ classCode: 0x08 }, { vendorId: 0x1234, productId: 0x5678 }]);
    expect(await getMscDevices(usb)).toEqual([msc]);
  });

  it('watchMscDevices calls onConnect/onDisconnect with device objects', () => {
    const usb = new FakeUsb();
    const seen: string[] = [];
    const stop = watchMscDevices(usb, { onConnect: (d) => seen.push(`+${d.serialNumber}`), onDisconnect: (d) => seen.push(`-${d.serialNumber}`) });
    const a = usb.plug(device({ serialNumber: 'A' }));
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
