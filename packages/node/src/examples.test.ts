import { MscDevice } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
import { printFirmware } from '../examples/vendor-command.js';

describe('README example: vendor command', () => {
  it('sends the vendor CDB and decodes the reply', async () => {
    const seen: number[][] = [];
    const sim = new SimulatedDevice({
      vendorCommand: (cdb) => {
        seen.push([...cdb]);
        return cdb[0] === 0xc0 ? { status: 'good', data: new Uint8Array([2, 7, 1, 0, 0, 0, 0, 0]) } : undefined;
      },
    });
    const device = await MscDevice.open(sim.transport);
    expect(await printFirmware(device)).toBe('USBMS Sim Disk: firmware 2.7.1');
    expect(seen).toEqual([[0xc0, 0x01, 0, 0, 0, 8]]);
    await device.close();
  });
});
