/**
 * Emulations of three USB-to-NVMe bridges for the simulator's vendor hook, each
 * with the quirks a host has to live with:
 *
 * - JMicron JMS583 (152d:0583): the command block, data and response CDBs
 *   (A1h); a data or response CDB without a command block first is refused
 *   (05/24/00), the completion status comes only in the response block.
 * - ASMedia ASM236x (174c:2362): E6h; the CDB has no NSID, so Identify
 *   Namespace always answers namespace 1.
 * - Realtek RTL9210 (0bda:9210): E4h; a log page read above 512 bytes returns
 *   the page's first 512 bytes and then stale bytes of the previous answer.
 *
 * The bytes are parsed here independently of the host's builders.
 */
import type { SimulatedDeviceOptions } from './device.js';
import { SimNvmeDrive, type SimNvmeDriveOptions } from './nvme-drive.js';
import type { SimVendorHook, SimVendorResult } from './scsi-plan.js';
import { Sense } from './sense.js';

/** The emulated USB-to-NVMe bridges. */
export type SimNvmeBridgeKind = 'nvme-jmicron' | 'nvme-asmedia' | 'nvme-realtek';

const le32 = (d: Uint8Array, at: number): number => ((d[at] ?? 0) | ((d[at + 1] ?? 0) << 8) | ((d[at + 2] ?? 0) << 16) | ((d[at + 3] ?? 0) << 24)) >>> 0;
const be32 = (d: Uint8Array, at: number): number => (((d[at] ?? 0) << 24) | ((d[at + 1] ?? 0) << 16) | ((d[at + 2] ?? 0) << 8) | (d[at + 3] ?? 0)) >>> 0;

const invalidField = (byte: number): SimVendorResult => ({ status: 'check-condition', sense: Sense.invalidFieldInCdb(byte) });
/** A bridge that got an NVMe error completes the SCSI command with 04/44/00 unless it has a way to say more. */
const internalFailure = (): SimVendorResult => ({ status: 'check-condition', sense: { key: 0x04, asc: 0x44, ascq: 0x00 } });

/** JMicron JMS583 (A1h command block / data / response). */
export function jmicronNvmeHook(drive: SimNvmeDrive): SimVendorHook {
  let pending: { opcode: number; nsid: number; cdw: number[] } | undefined;
  let completion: { status: number; result: number } | undefined;
  return (cdb, dataOut) => {
    if (cdb[0] !== 0xa1 || cdb.length < 12) return undefined;
    const protocol = (cdb[1] ?? 0) & 0x7f;
    if (((cdb[1] ?? 0) & 0x80) === 0) return invalidField(1); // only admin commands are emulated
    const length = ((cdb[3] ?? 0) << 16) | ((cdb[4] ?? 0) << 8) | (cdb[5] ?? 0);
    switch (protocol) {
      case 0x0: {
        if (length !== 512 || dataOut.length !== 512 || le32(dataOut, 0) !== 0x454d564e) return invalidField(3);
        pending = { opcode: le32(dataOut, 8) & 0xff, nsid: le32(dataOut, 12), cdw: [0, 1, 2, 3, 4, 5].map((i) => le32(dataOut, 48 + i * 4)) };
        completion = undefined;
        return { status: 'good' };
      }
      case 0x2: {
        if (pending === undefined) return invalidField(1);
        const c = drive.admin(pending.opcode, pending.nsid, pending.cdw, length);
        pending = undefined;
        completion = { status: c.status, result: c.result };
        return { status: 'good', data: c.status === 0 ? c.data : new Uint8Array(length) };
      }
      case 0x1: {
        if (pending === undefined) return invalidField(1);
        const c = drive.admin(pending.opcode, pending.nsid, pending.cdw, 0);
        pending = undefined;
        completion = { status: c.status, result: c.result };
        return { status: 'good' };
      }
      case 0xf: {
        if (completion === undefined || length !== 512) return invalidField(1);
        const reply = new Uint8Array(512);
        new DataView(reply.buffer).setUint32(0, 0x454d564e, true);
        new DataView(reply.buffer).setUint32(8, completion.result, true);
        new DataView(reply.buffer).setUint32(20, (completion.status << 17) >>> 0, true);
        return { status: 'good', data: reply };
      }
      default:
        return invalidField(1);
    }
  };
}

/** ASMedia ASM236x (E6h). */
export function asmediaNvmeHook(drive: SimNvmeDrive): SimVendorHook {
  return (cdb, _dataOut, _lun, context) => {
    if (cdb[0] !== 0xe6 || cdb.length < 16) return undefined;
    const opcode = cdb[1] ?? 0;
    if (opcode !== 0x06 && opcode !== 0x02) return invalidField(1);
    const cdw10 = ((cdb[3] ?? 0) | ((((cdb[6] ?? 0) << 8) | (cdb[7] ?? 0)) << 16)) >>> 0;
    // No NSID in the CDB: Identify Namespace means namespace 1, logs are controller-wide.
    const nsid = opcode === 0x06 ? ((cdw10 & 0xff) === 0 ? 1 : 0) : 0xffff_ffff;
    const c = drive.admin(opcode, nsid, [cdw10, 0, be32(cdb, 12), be32(cdb, 8), 0, 0], context.hostLength);
    return c.status === 0 ? { status: 'good', data: c.data } : internalFailure();
  };
}

/** Realtek RTL9210 (E4h). */
export function realtekNvmeHook(drive: SimNvmeDrive): SimVendorHook {
  let previous = new Uint8Array(4096);
  return (cdb) => {
    if (cdb[0] !== 0xe4 || cdb.length < 16) return undefined;
    const length = (cdb[1] ?? 0) | ((cdb[2] ?? 0) << 8);
    const opcode = cdb[3] ?? 0;
    if (opcode !== 0x06 && opcode !== 0x02) return invalidField(3);
    const low = cdb[4] ?? 0;
    const nsid = opcode === 0x06 ? (low === 0 ? 1 : 0) : 0xffff_ffff;
    // The bridge builds NUMD from the length, and fetches at most 512 bytes of a log page.
    const fetch = opcode === 0x02 ? Math.min(length, 512) : length;
    const cdw10 = opcode === 0x02 ? (low | (((Math.max(fetch, 4) >> 2) - 1) << 16)) >>> 0 : low;
    const c = drive.admin(opcode, nsid, [cdw10, 0, 0, 0, 0, 0], fetch);
    if (c.status !== 0) return internalFailure();
    const out = new Uint8Array(length);
    out.set(previous.subarray(0, length));
    out.set(c.data.subarray(0, fetch));
    previous = new Uint8Array(Math.max(4096, length));
    previous.set(out);
    return { status: 'good', data: out };
  };
}

/** USB identities of the emulated bridges (VID, PID, INQUIRY vendor/product as the chips report them). */
export const SIM_NVME_BRIDGE_IDS: Record<SimNvmeBridgeKind, { vendorId: number; productId: number; vendor: string; product: string }> = {
  'nvme-jmicron': { vendorId: 0x152d, productId: 0x0583, vendor: 'JMicron', product: 'Generic' },
  'nvme-asmedia': { vendorId: 0x174c, productId: 0x2362, vendor: 'ASMT', product: '2362' },
  'nvme-realtek': { vendorId: 0x0bda, productId: 0x9210, vendor: 'Realtek', product: 'RTL9210' },
};

/**
 * Options for a `SimulatedDevice` that is a USB-to-NVMe enclosure of the given kind with `drive` inside:
 * `new SimulatedDevice(simNvmeBridge('nvme-realtek').options)`.
 */
export function simNvmeBridge(
  kind: SimNvmeBridgeKind,
  drive: SimNvmeDrive | SimNvmeDriveOptions = {},
): { options: SimulatedDeviceOptions; drive: SimNvmeDrive } {
  const nvme = drive instanceof SimNvmeDrive ? drive : new SimNvmeDrive(drive);
  const id = SIM_NVME_BRIDGE_IDS[kind];
  const hook = kind === 'nvme-jmicron' ? jmicronNvmeHook(nvme) : kind === 'nvme-asmedia' ? asmediaNvmeHook(nvme) : realtekNvmeHook(nvme);
  const blocks = Math.min(nvme.options.blocks, 1 << 21);
  return {
    drive: nvme,
    options: {
      info: { vendorId: id.vendorId, productId: id.productId },
      luns: [{ vendor: id.vendor, product: id.product, blocks, blockSize: nvme.options.blockSize, removable: false }],
      vendorCommand: hook,
    },
  };
}
