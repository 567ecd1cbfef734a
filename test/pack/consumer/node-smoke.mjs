// Runs in the fresh consumer project against the installed tarballs: plain Node, plain npm.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineCommand, MscDevice, ParseError, ScsiCheckConditionError, UsbmsError } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import * as usbmsNode from '@usbms/node';

// A typed vendor command (SPC-4 §4.3: opcodes C0h-FFh are vendor specific).
const readFirmwareVersion = defineCommand({
  name: 'ACME READ FIRMWARE VERSION',
  direction: 'in',
  length: 8,
  cdb: () => [0xc0, 0x01, 0, 0, 0, 8],
  decode: (data) => {
    if (data.length < 3) throw new ParseError('firmware version', `expected 3 bytes, got ${data.length}`);
    return `${data[0]}.${data[1]}.${data[2]}`;
  },
});

const sim = new SimulatedDevice({
  luns: [{ vendor: 'ACME', product: 'Stick', blocks: 2048 }],
  vendorCommand: (cdb) => (cdb[0] === 0xc0 ? { status: 'good', data: Uint8Array.of(1, 2, 3, 0, 0, 0, 0, 0) } : undefined),
});
const device = await MscDevice.open(sim.transport);
try {
  const lu = device.lun(0);
  assert.equal(lu.inquiry?.vendor, 'ACME');
  assert.equal(await lu.run(readFirmwareVersion(), { timeoutMs: 5000 }), '1.2.3');
  // An opcode the device does not know: CHECK CONDITION, ILLEGAL REQUEST (05/20/00), as a typed error.
  const unknown = defineCommand({ name: 'UNKNOWN VENDOR', direction: 'none', length: 0, cdb: () => [0xd5, 0, 0, 0, 0, 0], decode: () => undefined });
  await assert.rejects(lu.run(unknown()), (error) => error instanceof ScsiCheckConditionError && error instanceof UsbmsError && error.sense?.senseKey === 5);
  const raw = await device.execute({ cdb: Uint8Array.of(0xc0, 0x01, 0, 0, 0, 8), direction: 'in', length: 8 });
  assert.equal(raw.status, 'good');
  const { blocks } = await lu.readCapacity();
  assert.equal(blocks, 2048);
} finally {
  await device.close();
}
sim.assertClean();

// @usbms/node's public API loads (node-usb is loaded lazily, on first use).
for (const name of ['openDevice', 'listDevices', 'watchDevices', 'openTransport', 'NodeUsbTransport', 'describeDevice', 'UsbfsTransport']) {
  // biome-ignore lint/performance/noDynamicNamespaceImportAccess: checking a list of exports by name is the point.
  assert.equal(typeof usbmsNode[name], 'function', `@usbms/node exports ${name}`);
}
// node-usb 3.x and its per-platform native binary were installed from the registry.
const usb = await import('usb');
assert.equal(typeof usb.WebUSB, 'function', 'usb exports WebUSB');
// One copy of @usbms/core (instanceof works across packages).
assert.equal(existsSync('node_modules/@usbms/node/node_modules/@usbms/core'), false, '@usbms/core is deduplicated');
// CommonJS callers (README): require() of these ES modules works on Node >= 20.19
// (no top-level await on the import path) and yields the same classes.
const require = createRequire(import.meta.url);
assert.equal(require('@usbms/core').MscDevice, MscDevice, 'require(@usbms/core) is the same module');
assert.equal(require('@usbms/core/sim').SimulatedDevice, SimulatedDevice, 'require(@usbms/core/sim) is the same module');
assert.equal(require('@usbms/node').openDevice, usbmsNode.openDevice, 'require(@usbms/node) is the same module');
console.log('node smoke: ok');
