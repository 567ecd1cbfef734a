/**
 * Option sets that make the simulator answer like the real devices captured
 * in scsi/fixtures/device-responses.jsonl (QEMU's usb-storage disk and CD-ROM, Linux's f_mass_storage
 * gadget), as far as the simulator models them. Merge with your own options:
 * `new SimulatedDevice({ ...SimProfiles.fileStorGadget(), transferDelayMs: 2 })`.
 */
import type { SimulatedDeviceOptions } from './device.js';
import type { SimLunOptions } from './scsi-target.js';

function ascii(text: string, length: number): number[] {
  const out = new Array<number>(length).fill(0x20);
  for (let i = 0; i < Math.min(length, text.length); i++) out[i] = text.charCodeAt(i);
  return out;
}

/** QEMU's 96-byte standard INQUIRY data: VERSION 5, HiSup + format 2, CmdQue. */
function qemuInquiry(type: number, removable: boolean, product: string): Uint8Array {
  const d = new Uint8Array(96);
  d.set([type, removable ? 0x80 : 0x00, 0x05, 0x12, 96 - 5, 0x00, 0x00, 0x10], 0);
  d.set(ascii('QEMU', 8), 8);
  d.set(ascii(product, 16), 16);
  d.set(ascii('2.5+', 4), 32);
  return d;
}

/**
 * Option sets for {@link SimulatedDevice} that answer like captured real
 * devices: `qemuDisk`, `qemuCdrom`, `fileStorGadget`. Each takes overrides for
 * its LUN and returns fresh options to spread into your own.
 *
 * @example
 * const sim = new SimulatedDevice({ ...SimProfiles.fileStorGadget(), transferDelayMs: 2 });
 */
export const SimProfiles = {
  /** QEMU `usb-storage` + disk (captured RIGEHCI001): no READ FORMAT CAPACITIES, 4194303-block transfer limit. */
  qemuDisk(lun: Partial<SimLunOptions> = {}): SimulatedDeviceOptions {
    return {
      info: { vendorId: 0x46f4, productId: 0x0001, manufacturer: 'QEMU', product: 'QEMU USB HARDDRIVE', serialNumber: lun.serialNumber ?? 'RIGEHCI001' },
      luns: [
        {
          vendor: 'QEMU',
          product: 'QEMU HARDDISK',
          revision: '2.5+',
          version: 0x05,
          removable: false,
          serialNumber: 'RIGEHCI001',
          blocks: 0x20000,
          maxTransferLength: 0x3fffff,
          readFormatCapacities: false,
          inquiryData: qemuInquiry(0x00, false, 'QEMU HARDDISK'),
          ...lun,
        },
      ],
    };
  },

  /** QEMU `usb-bot` + `scsi-cd` (captured RIGCD00001 / RIGCDE0001): 2048-byte blocks, no Block Limits page. */
  qemuCdrom(lun: Partial<SimLunOptions> = {}): SimulatedDeviceOptions {
    return {
      info: { vendorId: 0x46f4, productId: 0x0001, manufacturer: 'QEMU', product: 'QEMU USB MSD', serialNumber: lun.serialNumber ?? 'RIGCD00001' },
      luns: [
        {
          vendor: 'QEMU',
          product: 'QEMU CD-ROM',
          revision: '2.5+',
          version: 0x05,
          peripheralType: 0x05,
          removable: true,
          serialNumber: 'RIGCD00001',
          blockSize: 2048,
          blocks: 1024,
          writeProtected: true,
          vpdPageList: [0x00, 0x80, 0x83],
          readFormatCapacities: false,
          inquiryData: qemuInquiry(0x05, true, 'QEMU CD-ROM'),
          ...lun,
        },
      ],
    };
  },

  /**
   * Linux `f_mass_storage` gadget, "Linux File-Stor Gadget" 0525:a4a5 (captured RIG-g0-0001):
   * rejects every VPD page and REPORT LUNS, and halts bulk-IN after short data.
   */
  fileStorGadget(lun: Partial<SimLunOptions> = {}): SimulatedDeviceOptions {
    return {
      info: { vendorId: 0x0525, productId: 0xa4a5, manufacturer: 'Linux', product: 'File-Stor Gadget', serialNumber: lun.serialNumber ?? 'RIG-g0-0001' },
      stallOnShortDataIn: true,
      luns: [
        {
          vendor: 'Linux',
          product: 'File-Stor Gadget',
          revision: '0601',
          version: 0x02,
          removable: false,
          blocks: 0x20000,
          vpdPages: false,
          reportLuns: false,
          ...lun,
        },
      ],
    };
  },
} as const;
