/**
 * The device fuzzer's platforms: each adapter of usbms with the fuzzer's hostile device behind the
 * tests' fake of its platform, so hostile answers reach the engine through that platform's own
 * semantics, and what the platform is left with after every close is checked.
 * - usbfs: the real `UsbfsTransport` (URB queue, chained stages, discard and reap, reaper hand-off)
 *   over the fake usbfs kernel: a stall is -EPIPE, babble -EOVERFLOW, an unplug -ESHUTDOWN then ENODEV.
 * - node-usb: `NodeUsbTransport` over the fake node-usb 3.1 device (its error strings, one transfer
 *   per endpoint, no cancellation) and its hotplug events.
 * - webusb: `WebUsbTransport` over the fake `USBDevice` (Chromium's results and DOMExceptions; an
 *   abort or time limit is a device reset that cancels every pending transfer).
 */
import type { FuzzPlatform, HostileTransport } from '../../packages/core/bench/device-fuzz.js';
import { makeLinuxTree } from '../../packages/node/src/testing/fake-sysfs.js';
import { FakeUsb, FakeUsbDevice } from '../../packages/node/src/testing/fake-usb.js';
import { FakeUsbfsKernel } from '../../packages/node/src/testing/fake-usbfs.js';
import { SimUsbDevice } from '../../packages/node/src/testing/sim-usb-device.js';
import { NodeUsbTransport } from '../../packages/node/src/transport.js';
import { UsbfsTransport } from '../../packages/node/src/usbfs/transport.js';
import { FakeUsb as FakeWebUsb, FakeUsbDevice as FakeWebUsbDevice } from '../../packages/web/src/fake/index.js';
import { WebUsbTransport } from '../../packages/web/src/transport.js';

export const PLATFORMS = ['usbfs', 'node-usb', 'webusb'] as const;
export type PlatformName = (typeof PLATFORMS)[number];

/** A platform factory for `runDeviceFuzz`, and what to remove after the run. */
export interface FuzzPlatformKit {
  platform: (device: HostileTransport) => Promise<FuzzPlatform>;
  cleanup: () => Promise<void>;
}

const IDS = { vendorId: 0x1209, productId: 0x5553 };

export async function fuzzPlatform(name: PlatformName): Promise<FuzzPlatformKit> {
  // The sysfs/procfs files the Linux hand-off reads: usb-storage bound, nothing mounted.
  const tree = await makeLinuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16', partitions: [] }] });
  const linux = { platform: 'linux' as const, linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot } };
  const platforms: Record<PlatformName, (device: HostileTransport) => Promise<FuzzPlatform>> = {
    usbfs: async (device) => {
      const kernel = new FakeUsbfsKernel(device, { driver: 'usb-storage' });
      device.onDisconnect(() => kernel.unplug());
      const transport = await UsbfsTransport.open(new FakeUsbDevice(IDS), { sys: kernel, ...linux });
      const afterClose = (): string[] => {
        const problems = [...kernel.violations];
        if (kernel.inflight > 0) problems.push(`usbfs: ${kernel.inflight} URB(s) submitted and never reaped`);
        if (!kernel.log.includes('close 7')) problems.push('usbfs: the device file was left open');
        if (!kernel.gone && kernel.driver !== 'usb-storage') problems.push(`usbfs: the interface was left with ${kernel.driver ?? 'no driver'}`);
        return problems;
      };
      return { transport, afterClose };
    },
    'node-usb': async (device) => {
      const usbDevice = new SimUsbDevice({ transport: device, disconnect: () => undefined }, { ...IDS, kernelDrivers: { 0: 'usb-storage' } });
      const usb = new FakeUsb([usbDevice]);
      device.onDisconnect(() => usb.remove(usbDevice));
      const transport = await NodeUsbTransport.open(usbDevice, { ...linux, usb });
      const afterClose = (): string[] => {
        const problems: string[] = [];
        if (usb.listenerCount > 0) problems.push('node-usb: a hotplug listener was left registered');
        if (usbDevice.opened) problems.push('node-usb: the device was left open');
        if (usbDevice.claimed.size > 0) problems.push('node-usb: the interface was left claimed');
        if (!usbDevice.gone && usbDevice.kernelDrivers.get(0) !== 'usb-storage') problems.push('node-usb: usb-storage was not re-attached');
        return problems;
      };
      return { transport, afterClose };
    },
    webusb: async (device) => {
      const usb = new FakeWebUsb();
      const usbDevice = usb.plug(new FakeWebUsbDevice({ transport: device, ...IDS }), { permitted: true });
      device.onDisconnect(() => usbDevice.unplug());
      const transport = await WebUsbTransport.open(usbDevice, { usb, cancelGraceMs: 1000 });
      const afterClose = (): string[] => {
        const problems: string[] = [];
        if (usbDevice.pendingTransfers > 0) problems.push(`webusb: ${usbDevice.pendingTransfers} transfer(s) still pending`);
        if (!usbDevice.unplugged && usbDevice.opened) problems.push('webusb: the device was left open');
        return problems;
      };
      return { transport, afterClose };
    },
  };
  return { platform: platforms[name], cleanup: tree.cleanup };
}
