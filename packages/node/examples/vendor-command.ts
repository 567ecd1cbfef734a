/**
 * Example: send a vendor-specific SCSI command to a USB stick from Node.
 *
 *   node --conditions=source --import tsx packages/node/examples/vendor-command.ts 1209:5553
 *
 * "ACME READ FIRMWARE VERSION" (opcode 0xC0, 8 bytes in) is made up: use the
 * opcode and layout your device's vendor documents. Vendor opcodes 0xC0-0xFF
 * are reserved for vendors by SPC-4 §4.3.
 */
import { defineCommand, type MscDevice, ParseError } from '@usbms/core';
import { openDevice } from '@usbms/node';

/** A typed vendor command: validated options in, decoded result out. */
export const readFirmwareVersion = defineCommand({
  name: 'ACME READ FIRMWARE VERSION',
  direction: 'in',
  length: 8,
  cdb: () => [0xc0, 0x01, 0, 0, 0, 8],
  decode: (data) => {
    if (data.length < 3) throw new ParseError('firmware version', `expected 3 bytes, got ${data.length}`);
    return `${data[0]}.${data[1]}.${data[2]}`;
  },
});

/** Works on any opened device: real (openDevice) or simulated (MscDevice.open(sim.transport)). */
export async function printFirmware(device: MscDevice): Promise<string> {
  const lu = device.lun(0);
  const version = await lu.run(readFirmwareVersion(), { timeoutMs: 5000 });
  return `${lu.inquiry?.vendor ?? '?'} ${lu.inquiry?.product ?? '?'}: firmware ${version}`;
}

// Run directly: open the device named on the command line, read-only.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, ''))) {
  const device = await openDevice(process.argv[2] ?? 0, { readOnly: true });
  try {
    console.log(await printFirmware(device));
  } finally {
    await device.close();
  }
}
