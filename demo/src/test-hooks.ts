import type { UsbLike } from '@usbms/web';
import { FakeUsb, FakeUsbDevice } from '@usbms/web/fake';
import { createDemoSimulator } from './session.js';

/**
 * `?fakeusb` (and `&protected` for Chromium's protected-class refusal):
 * replaces `navigator.usb` with the WebUSB fake backed by the simulator, so the
 * real "Connect USB device" path runs end to end without hardware. The browser
 * tests use it; it is also handy to try the connect flow. `window.usbmsTest`
 * lets the tests unplug the device or hold its transfers mid-command.
 */
export interface UsbmsTestHooks {
  usb: FakeUsb;
  device: FakeUsbDevice;
  unplug(): void;
  holdTransfers(): void;
  releaseTransfers(): void;
  pendingTransfers(): number;
}

export function installFakeUsbFromQuery(): UsbLike | undefined {
  const params = new URLSearchParams(location.search);
  if (!params.has('fakeusb')) return undefined;
  const sim = createDemoSimulator('WebUSB Fake Disk');
  const usb = new FakeUsb();
  const device = usb.plug(
    new FakeUsbDevice({
      transport: sim.transport,
      vendorId: 0x1209,
      productId: 0x5553,
      manufacturerName: 'usbms',
      productName: 'WebUSB Fake Disk',
      serialNumber: 'FAKE0001',
      protectedClass: params.has('protected'),
    }),
  );
  Object.defineProperty(navigator, 'usb', { value: usb, configurable: true });
  const hooks: UsbmsTestHooks = {
    usb,
    device,
    unplug: () => {
      device.unplug();
      sim.disconnect();
    },
    holdTransfers: () => device.holdTransfers(),
    releaseTransfers: () => device.releaseTransfers(),
    pendingTransfers: () => device.pendingTransfers,
  };
  (window as unknown as { usbmsTest: UsbmsTestHooks }).usbmsTest = hooks;
  return usb;
}
