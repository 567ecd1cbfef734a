import { connectRemote, MscDevice } from '@usbms/core';
import type { SimAtaBridgeKind, SimNvmeBridgeKind, SimulatedDeviceOptions, SimVendorHook } from '@usbms/core/sim';
import { SimAtaDrive, SimulatedDevice, simAtaBridge, simNvmeBridge } from '@usbms/core/sim';
import type { MscDeviceInfo, UsbDeviceLike, UsbLike } from '@usbms/web';
import { findBotInterface, requestDevice, WebUsbTransport } from '@usbms/web';
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

/** What the simulated disk's enclosure speaks: SAT (an ATA drive behind ATA PASS-THROUGH) or a vendor bridge. */
export type SimKind = 'sat' | SimAtaBridgeKind | SimNvmeBridgeKind;

export const SIM_KINDS: Array<[SimKind, string]> = [
  ['sat', 'SAT drive'],
  ['jmicron', 'JMicron SATA bridge'],
  ['cypress', 'Cypress SATA bridge'],
  ['sunplus', 'Sunplus SATA bridge'],
  ['nvme-jmicron', 'JMicron JMS583 NVMe'],
  ['nvme-asmedia', 'ASMedia ASM2362 NVMe'],
  ['nvme-realtek', 'Realtek RTL9210 NVMe'],
];

/** The first hook that knows the opcode answers. */
function chain(...hooks: SimVendorHook[]): SimVendorHook {
  return async (cdb, data, lun, context) => {
    for (const hook of hooks) {
      const r = await hook(cdb, data, lun, context);
      if (r !== undefined) return r;
    }
    return undefined;
  };
}

/** The drive inside the demo enclosure: an ATA drive with a few SMART attributes, or an NVMe SSD. */
function enclosure(kind: SimKind): Pick<SimulatedDeviceOptions, 'info' | 'vendorCommand'> {
  const ata = new SimAtaDrive({ model: 'USBMS DEMO HDD 64MB', serial: 'DEMOATA0001', firmware: 'DM01', sectors: 131072 });
  if (kind === 'sat') return { vendorCommand: ata.hook };
  if (kind === 'jmicron' || kind === 'cypress' || kind === 'sunplus') return simAtaBridge(kind, ata).options;
  return simNvmeBridge(kind, { model: 'USBMS DEMO NVMe SSD', serial: 'DEMONVME0001', blocks: 131072 }).options;
}

/** A demo disk: LUN 0 a 64 MiB disk, LUN 1 an empty card-reader slot; its enclosure speaks `kind`. */
export function createDemoSimulator(product = 'Demo Disk', kind: SimKind = 'sat'): SimulatedDevice {
  const { info, vendorCommand } = enclosure(kind);
  return new SimulatedDevice({
    ...(info ? { info } : {}),
    luns: [
      { vendor: 'USBMS', product, revision: '1.00', serialNumber: 'DEMO0001', blockSize: 512, blocks: 131072 },
      { vendor: 'USBMS', product: 'Card Reader', revision: '1.00', serialNumber: 'DEMO0002', mediumPresent: false },
    ],
    vendorCommand: vendorCommand ? chain(demoVendorHook(), vendorCommand) : demoVendorHook(),
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

export async function openSimulatedSession(kind: SimKind = 'sat'): Promise<Session> {
  const sim = createDemoSimulator('Demo Disk', kind);
  const capture = new SessionCapture(sim.transport);
  const device = await MscDevice.open(capture.transport);
  await device.lun(0).write(0, demoMbr());
  const name = SIM_KINDS.find(([k]) => k === kind)?.[1] ?? kind;
  // The default enclosure keeps the plain label (tests and docs refer to it).
  return { kind: 'simulated', label: kind === 'sat' ? 'Simulated device' : `Simulated device (${name})`, device, capture };
}

/** "USB device VID:PID (manufacturer product)". */
export function deviceLabel(info: MscDeviceInfo): string {
  const name = [info.manufacturer, info.product].filter((s) => s).join(' ');
  const id = info.id.split(':').slice(0, 2).join(':');
  return name ? `USB device ${id} (${name})` : `USB device ${id}`;
}

/** Shows the chooser (from a click) and opens the chosen device. */
export async function openUsbSession(usb: UsbLike): Promise<Session> {
  const info = await requestDevice({}, { usb });
  const usbDevice: UsbDeviceLike = info.device;
  findBotInterface(usbDevice);
  const transport = await WebUsbTransport.open(usbDevice, { usb });
  const capture = new SessionCapture(transport);
  try {
    const device = await MscDevice.open(capture.transport);
    return { kind: 'usb', label: deviceLabel(info), device, usbDevice, capture };
  } catch (error) {
    await transport.close();
    throw error;
  }
}

/** Where the tool keeps the last `usbms serve` URL and token: localStorage, so per origin. */
const SERVE_KEY = 'usbms.serve';

export function rememberedServe(): { url: string; token: string } {
  try {
    const saved = JSON.parse(localStorage.getItem(SERVE_KEY) ?? 'null') as { url?: unknown; token?: unknown } | null;
    return {
      url: typeof saved?.url === 'string' ? saved.url : 'ws://127.0.0.1:5181',
      token: typeof saved?.token === 'string' ? saved.token : '',
    };
  } catch {
    return { url: 'ws://127.0.0.1:5181', token: '' };
  }
}

/**
 * Connects to `usbms serve` (any browser: the service owns the USB device) and
 * opens its first device. The URL and token are remembered for this origin.
 */
export async function openRemoteSession(url: string, token: string): Promise<Session> {
  const client = await connectRemote(url, { token, clientName: 'usbms device tool' });
  try {
    localStorage.setItem(SERVE_KEY, JSON.stringify({ url, token }));
  } catch {
    // Storage may be disabled; connecting worked anyway.
  }
  try {
    const device = client.device();
    const inquiry = device.lun(0).inquiry;
    const name = inquiry ? `${inquiry.vendor} ${inquiry.product}`.trim() : 'device';
    return { kind: 'remote', label: `usbms serve: ${name} (${url})`, device, client };
  } catch (error) {
    client.close();
    throw error;
  }
}
