import { MscDevice } from '@usbms/core';
import type { SimVendorHook } from '@usbms/core/sim';
import { SimulatedDevice } from '@usbms/core/sim';
import type { UsbDeviceLike, UsbLike } from '@usbms/web';
import { describeDevice, findBotInterface, requestMscDevice, WebUsbTransport } from '@usbms/web';
import type { Session } from './app.js';
import { SessionCapture } from './capture.js';

const encoder = new TextEncoder();

/**
 * The simulator's vendor commands, so the console has something vendor-specific to talk to:
 * C0 (IN) firmware version; C1 (OUT, length in byte 4) stores a config page; C2 (IN) returns it.
 */
export function demoVendorHook(): SimVendorHook {
  let config: Uint8Array = new Uint8Array(0);
  return (cdb, dataOut) => {
    switch (cdb[0]) {
      case 0xc0:
        return { status: 'good', data: encoder.encode('USBMS-SIM FW 1.2.3 (demo)').subarray(0, cdb[4] ?? 0) };
      case 0xc1:
        config = dataOut.slice();
        return { status: 'good' };
      case 0xc2:
        return { status: 'good', data: config.subarray(0, cdb[4] ?? 0) };
      default:
        return undefined;
    }
  };
}

/** A demo disk: LUN 0 a 64 MiB disk, LUN 1 an empty card-reader slot. */
export function createDemoSimulator(product = 'Demo Disk'): SimulatedDevice {
  return new SimulatedDevice({
    luns: [
      { vendor: 'USBMS', product, revision: '1.00', serialNumber: 'DEMO0001', blockSize: 512, blocks: 131072 },
      { vendor: 'USBMS', product: 'Card Reader', revision: '1.00', serialNumber: 'DEMO0002', mediumPresent: false },
    ],
    vendorCommand: demoVendorHook(),
  });
}

/** An MBR with one FAT32 partition, so sector 0 shows something recognisable (55 AA at 0x1FE). */
function demoMbr(): Uint8Array {
  const s = new Uint8Array(512);
  s.set(encoder.encode('usbms demo disk: this sector is RAM in your browser tab.'), 0x03);
  const entry = Uint8Array.of(0x00, 0x00, 0x02, 0x00, 0x0c, 0xfe, 0xff, 0xff, 0x00, 0x08, 0x00, 0x00, 0x00, 0xf8, 0x01, 0x00);
  s.set(entry, 0x1be);
  s[0x1fe] = 0x55;
  s[0x1ff] = 0xaa;
  return s;
}

export async function openSimulatedSession(): Promise<Session> {
  const sim = createDemoSimulator();
  const capture = new SessionCapture(sim.transport);
  const device = await MscDevice.open(capture.transport);
  await device.lun(0).write(0, demoMbr());
  return { kind: 'simulated', label: 'Simulated device', device, capture };
}

/** Shows the chooser (from a click) and opens the chosen device. */
export async function openUsbSession(usb: UsbLike): Promise<Session> {
  const usbDevice: UsbDeviceLike = await requestMscDevice(usb);
  findBotInterface(usbDevice);
  const transport = await WebUsbTransport.open(usbDevice, { usb });
  const capture = new SessionCapture(transport);
  try {
    const device = await MscDevice.open(capture.transport);
    return { kind: 'usb', label: describeDevice(usbDevice), device, usbDevice, capture };
  } catch (error) {
    await transport.close();
    throw error;
  }
}
