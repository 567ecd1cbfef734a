// Type-checked (never run) in the fresh consumer project against the installed
// .d.ts files, once with moduleResolution nodenext and once with bundler.
import {
  defineCommand,
  deserializeError,
  type LogicalUnit,
  MscDevice,
  type MscTransport,
  ScsiCheckConditionError,
  type SenseData,
  serializeError,
  type TraceEvent,
} from '@usbms/core';
import { SimulatedDevice, type SimulatedDeviceOptions } from '@usbms/core/sim';
import { listDevices, type MscDeviceInfo, type OpenDeviceOptions, openDevice } from '@usbms/node';
import { openDevice as openWebDevice, requestDevice, WebUsbTransport } from '@usbms/web';
import { FakeUsb, FakeUsbDevice } from '@usbms/web/fake';

export const readFirmwareVersion = defineCommand({
  name: 'ACME READ FIRMWARE VERSION',
  direction: 'in',
  length: 8,
  cdb: () => [0xc0, 0x01, 0, 0, 0, 8],
  decode: (data: Uint8Array): string => `${data[0]}.${data[1]}.${data[2]}`,
});

export async function onSimulator(options: SimulatedDeviceOptions = {}): Promise<string> {
  const sim = new SimulatedDevice(options);
  const transport: MscTransport = sim.transport;
  const device: MscDevice = await MscDevice.open(transport, { readOnly: true });
  const stop = device.onTrace((event: TraceEvent) => void event.type);
  try {
    const lu: LogicalUnit = device.lun(0);
    const version: string = await lu.run(readFirmwareVersion(), { timeoutMs: 5000 });
    const { blocks, blockSize } = await lu.readCapacity();
    const data: Uint8Array = await lu.read(0, 1, { signal: AbortSignal.timeout(1000) });
    return `${version} ${blocks * blockSize} ${data.length}`;
  } catch (error) {
    if (error instanceof ScsiCheckConditionError) {
      const sense: SenseData | undefined = error.sense;
      if (sense?.senseKey === 5) throw deserializeError(serializeError(error));
    }
    throw error;
  } finally {
    stop();
    await device.close();
  }
}

export async function onNode(options: OpenDeviceOptions): Promise<MscDeviceInfo[]> {
  const devices = await listDevices();
  const first = devices[0];
  if (first) await (await openDevice(first, options)).close();
  return devices;
}

export async function inBrowser(): Promise<void> {
  const usb = new FakeUsb();
  usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport }));
  const device = await openWebDevice(await requestDevice({}, { usb }), { usb });
  await device.close();
  void WebUsbTransport.open;
}
