// Bundled by Vite from the installed tarballs and run in headless chromium:
// @usbms/web over the WebUSB fake, backed by the @usbms/core simulator.
import { defineCommand } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { openDevice, requestDevice } from '@usbms/web';
import { FakeUsb, FakeUsbDevice } from '@usbms/web/fake';

const readFirmware = defineCommand({
  name: 'ACME READ FIRMWARE',
  direction: 'in',
  length: 8,
  cdb: () => [0xc0, 0x02, 0, 0, 0, 8],
  decode: (data) => new TextDecoder().decode(data.subarray(0, 8)),
});

const status = document.getElementById('status');
try {
  const sim = new SimulatedDevice({
    luns: [{ blocks: 2048 }],
    vendorCommand: (cdb) => (cdb[0] === 0xc0 ? { status: 'good', data: new TextEncoder().encode('FW 1.2.3') } : undefined),
  });
  const usb = new FakeUsb();
  usb.plug(new FakeUsbDevice({ transport: sim.transport }));
  const device = await openDevice(await requestDevice({}, { usb }), { usb });
  const lu = device.lun(0);
  const { blocks, blockSize } = await lu.readCapacity();
  const sector = new Uint8Array(blockSize);
  sector.set(new TextEncoder().encode('usbms'));
  await lu.write(0, sector);
  const back = await lu.read(0, 1);
  const firmware = await lu.run(readFirmware());
  await device.close();
  globalThis.__usbmsSmoke = { ok: true, vendor: lu.inquiry?.vendor, blocks, firmware, sector0: new TextDecoder().decode(back.subarray(0, 5)) };
  status.textContent = 'ok';
} catch (error) {
  globalThis.__usbmsSmoke = { ok: false, error: String(error?.stack ?? error) };
  status.textContent = 'failed';
}
