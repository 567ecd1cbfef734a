import { TransportError } from '@usbms/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeInterfaces, listDevices, watchDevices } from './discovery.js';
import { type FakeLinuxTree, makeLinuxTree } from './testing/fake-sysfs.js';
import { FakeUsb, FakeUsbDevice } from './testing/fake-usb.js';

const trees: FakeLinuxTree[] = [];
afterEach(async () => {
  for (const t of trees.splice(0)) await t.cleanup();
});

const hid = new FakeUsbDevice({
  vendorId: 0x046d,
  productId: 0xc077,
  handle: 'mouse',
  interfaces: [{ interfaceNumber: 0, alternates: [{ interfaceClass: 0x03, interfaceSubclass: 1, interfaceProtocol: 2 }] }],
});

describe('describeInterfaces', () => {
  it('finds BOT at alt 0 and UAS at alt 1', () => {
    const device = new FakeUsbDevice({
      interfaces: [
        {
          interfaceNumber: 0,
          alternates: [
            { alternateSetting: 0, interfaceProtocol: 0x50, bulk: [1, 2] },
            { alternateSetting: 1, interfaceProtocol: 0x62, bulk: [3, 4] },
          ],
        },
      ],
    });
    const config = device.configuration;
    if (!config) throw new Error('no configuration');
    const [iface] = describeInterfaces(config);
    expect(iface).toMatchObject({ interfaceNumber: 0, botAlternate: 0, uasAlternate: 1, supported: true });
    expect(iface?.alternates[0]?.bulkIn).toEqual({ endpointNumber: 1, address: 0x81, packetSize: 512 });
    expect(iface?.alternates[0]?.bulkOut).toEqual({ endpointNumber: 2, address: 0x02, packetSize: 512 });
    expect(iface?.alternates[1]?.kind).toBe('uas');
  });

  it('lists UAS-only, CBI and non-SCSI subclasses with a note', () => {
    const device = new FakeUsbDevice({
      interfaces: [
        { interfaceNumber: 0, alternates: [{ interfaceProtocol: 0x62, bulk: [1, 2] }] },
        { interfaceNumber: 1, alternates: [{ interfaceSubclass: 0x04, interfaceProtocol: 0x00, bulk: [3, 4] }] },
        { interfaceNumber: 2, alternates: [{ interfaceSubclass: 0x02, interfaceProtocol: 0x50, bulk: [5, 6] }] },
      ],
    });
    const config = device.configuration;
    if (!config) throw new Error('no configuration');
    const [uas, cbi, atapi] = describeInterfaces(config);
    expect(uas).toMatchObject({ supported: false, note: 'UAS-only device, not supported yet' });
    expect(cbi?.supported).toBe(false);
    expect(cbi?.note).toContain('CBI');
    expect(atapi?.supported).toBe(true);
    expect(atapi?.note).toContain('MMC-5');
  });

  it('includes a vendor-class interface only when named', () => {
    const device = new FakeUsbDevice({
      interfaces: [{ interfaceNumber: 1, alternates: [{ interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, bulk: [1, 2] }] }],
    });
    const config = device.configuration;
    if (!config) throw new Error('no configuration');
    expect(describeInterfaces(config)).toEqual([]);
    expect(describeInterfaces(config, 1)[0]).toMatchObject({ supported: true, botAlternate: 0 });
  });
});

describe('listDevices', () => {
  it('lists mass-storage devices only, with IDs, strings, bus/port and speed', async () => {
    const disk = new FakeUsbDevice({ bus: '002', ports: [1, 4], address: 9, speed: 'super' });
    const usb = new FakeUsb([hid, disk]);
    const list = await listDevices({}, { usb, platform: 'darwin' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: '0781:5567:SN0001',
      vendorId: 0x0781,
      productId: 0x5567,
      serialNumber: 'SN0001',
      manufacturer: 'FakeCorp',
      product: 'Fake Disk',
      busNumber: 2,
      address: 9,
      ports: [1, 4],
      portPath: '2-1.4',
      speed: 'super',
      configurationValue: 1,
    });
    // The node-usb object stays out of JSON output.
    expect(JSON.parse(JSON.stringify(list[0]))).not.toHaveProperty('device');
    expect(list[0]?.device).toBe(disk);
  });

  it('filters by VID, PID and serial', async () => {
    const a = new FakeUsbDevice({ serialNumber: 'A', handle: 'a' });
    const b = new FakeUsbDevice({ serialNumber: 'B', handle: 'b', productId: 0x1234 });
    const usb = new FakeUsb([a, b]);
    expect((await listDevices({ productId: 0x1234 }, { usb, platform: 'darwin' })).map((d) => d.serialNumber)).toEqual(['B']);
    expect((await listDevices({ serialNumber: 'A' }, { usb, platform: 'darwin' })).map((d) => d.serialNumber)).toEqual(['A']);
    expect(await listDevices({ vendorId: 0x1111 }, { usb, platform: 'darwin' })).toEqual([]);
  });

  it('on Linux adds the bound driver and block devices from sysfs', async () => {
    const tree = await makeLinuxTree({
      interfaceName: '1-1:1.0',
      driver: 'usb-storage',
      disks: [
        { name: 'sdb', dev: '8:16' },
        { name: 'sdc', dev: '8:32' },
      ],
    });
    trees.push(tree);
    const usb = new FakeUsb([new FakeUsbDevice({ bus: '001', ports: [1] })]);
    const [info] = await listDevices({}, { usb, platform: 'linux', linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot } });
    expect(info?.interfaces[0]).toMatchObject({ kernelDriver: 'usb-storage', blockDevices: ['sdb', 'sdc'] });
  });

  it('rejects with the platform error when there is no USB subsystem', async () => {
    const usb = new FakeUsb([]);
    usb.unavailable = true;
    const error = await listDevices({}, { usb }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toContain('/sys/bus/usb/devices/ not found');
    expect((error as Error).message).toContain('--sim');
  });
});

describe('watchDevices', () => {
  it('reports mass-storage attach and detach, and stops cleanly', async () => {
    const usb = new FakeUsb([]);
    const onAttach = vi.fn();
    const onDetach = vi.fn();
    const stop = watchDevices({ onAttach, onDetach }, { usb, platform: 'darwin' });
    await vi.waitFor(() => expect(usb.listenerCount).toBe(2));
    const disk = new FakeUsbDevice();
    usb.add(hid);
    usb.add(disk);
    await vi.waitFor(() => expect(onAttach).toHaveBeenCalledTimes(1));
    expect(onAttach.mock.calls[0]?.[0]).toMatchObject({ id: '0781:5567:SN0001' });
    usb.remove(hid);
    usb.remove(disk);
    expect(onDetach).toHaveBeenCalledTimes(1);
    expect(onDetach.mock.calls[0]?.[0]).toMatchObject({ id: '0781:5567:SN0001' });
    stop();
    expect(usb.listenerCount).toBe(0);
  });

  it('reports devices present at start when asked', async () => {
    const usb = new FakeUsb([new FakeUsbDevice()]);
    const onAttach = vi.fn();
    const stop = watchDevices({ onAttach }, { usb, platform: 'darwin', includeExisting: true });
    await vi.waitFor(() => expect(onAttach).toHaveBeenCalledTimes(1));
    stop();
  });

  it('reports a missing USB subsystem through onError and never subscribes', async () => {
    const usb = new FakeUsb([]);
    usb.unavailable = true;
    const onError = vi.fn();
    const stop = watchDevices({ onError }, { usb });
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1));
    expect(usb.listenerCount).toBe(0);
    stop();
  });
});

describe('listDevices with unreadable descriptors', () => {
  it('skips devices it cannot inspect unless asked', async () => {
    const locked = new FakeUsbDevice({ handle: 'locked', vendorId: 0x1111, productId: 0x2222 });
    Object.defineProperty(locked, 'configuration', {
      get: () => {
        throw new Error('configuration error: failed to open device: Permission denied (os error 13)');
      },
    });
    Object.defineProperty(locked, 'configurations', {
      get: () => {
        throw new Error('open error: failed to open device: Permission denied (os error 13)');
      },
    });
    const usb = new FakeUsb([locked, new FakeUsbDevice()]);
    expect((await listDevices({}, { usb, platform: 'darwin' })).map((d) => d.id)).toEqual(['0781:5567:SN0001']);
    const all = await listDevices({ includeUnreadable: true }, { usb, platform: 'darwin' });
    expect(all.map((d) => d.id)).toEqual(['1111:2222:SN0001', '0781:5567:SN0001']);
    expect(all[0]?.error).toContain('Permission denied');
  });
});
