// Smoke test run inside the HIL guest: lists the USB mass-storage interfaces with node-usb (`usb` 3.1)
// directly, without the usbms adapter, and writes them to $HIL_OUT/smoke.json. Proves the whole pipeline
// (QEMU device -> guest kernel USB stack -> devtmpfs node -> node-usb in the shared checkout).
// Plain JavaScript on purpose: it must work even when the TypeScript packages do not.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// `usb` is a dependency of packages/node; resolve it from there (test/ does not depend on it directly).
const requireFromNode = createRequire(new URL('../../../packages/node/package.json', import.meta.url));
const { usb } = requireFromNode('usb');

const devices = await usb.getDevices();
const found = [];
for (const device of devices) {
  for (const configuration of device.configurations ?? []) {
    for (const iface of configuration.interfaces) {
      for (const alt of iface.alternates) {
        if (alt.interfaceClass !== 0x08) continue;
        found.push({
          vendorId: device.vendorId,
          productId: device.productId,
          serialNumber: device.serialNumber ?? null,
          manufacturerName: device.manufacturerName ?? null,
          productName: device.productName ?? null,
          speed: device.speed ?? null,
          configurationValue: configuration.configurationValue,
          interfaceNumber: iface.interfaceNumber,
          alternateSetting: alt.alternateSetting,
          interfaceClass: alt.interfaceClass,
          interfaceSubclass: alt.interfaceSubclass,
          interfaceProtocol: alt.interfaceProtocol,
          endpoints: alt.endpoints.map((e) => ({
            endpointNumber: e.endpointNumber,
            direction: e.direction,
            type: e.type,
            packetSize: e.packetSize,
          })),
        });
      }
    }
  }
}

// Which kernel driver owns each mass-storage interface, and the SCSI disks it created (from sysfs).
const sysUsb = '/sys/bus/usb/devices';
const kernel = [];
for (const name of fs.readdirSync(sysUsb)) {
  const dir = path.join(sysUsb, name);
  let cls;
  try {
    cls = fs.readFileSync(path.join(dir, 'bInterfaceClass'), 'utf8').trim();
  } catch {
    continue;
  }
  if (cls !== '08') continue;
  let driver = null;
  try {
    driver = path.basename(fs.readlinkSync(path.join(dir, 'driver')));
  } catch {
    driver = null;
  }
  kernel.push({ interface: name, driver });
}
const disks = fs.readdirSync('/sys/block').filter((d) => d.startsWith('sd'));

const result = { interfaces: found, kernel, disks, allDevices: devices.length };
fs.writeFileSync(path.join(process.env.HIL_OUT, 'smoke.json'), JSON.stringify(result, null, 1));
console.log(JSON.stringify(result));
