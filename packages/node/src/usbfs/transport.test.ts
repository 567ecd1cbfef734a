import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortError, AccessDeniedError, ClosedError, DisconnectedError, inquiry, MscDevice, TimeoutError, TransportError } from '@usbms/core';
import { encodeCbw } from '@usbms/core/internal';
import { SimulatedDevice, type SimulatedDeviceOptions } from '@usbms/core/sim';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FakeLinuxTree, makeLinuxTree } from '../testing/fake-sysfs.js';
import { FakeUsbDevice } from '../testing/fake-usb.js';
import { FakeUsbfsKernel } from '../testing/fake-usbfs.js';
import { NodeUsbTransport } from '../transport.js';
import { Errno, UsbfsIoctl } from './abi.js';
import { UsbfsTransport, usbfsPath } from './transport.js';

const trees: FakeLinuxTree[] = [];
afterEach(async () => {
  for (const tree of trees.splice(0)) await tree.cleanup();
});

async function setup(
  options: { sim?: SimulatedDeviceOptions; tree?: Parameters<typeof makeLinuxTree>[0]; statusAhead?: boolean; mainThreadReapMs?: number } = {},
) {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048 }], ...options.sim });
  const kernel = new FakeUsbfsKernel(sim.transport, { driver: 'usb-storage' });
  const device = new FakeUsbDevice({ vendorId: 0x1209, productId: 0x5553 });
  const tree = await makeLinuxTree({
    driver: 'usb-storage',
    disks: [{ name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17' }] }],
    ...options.tree,
  });
  trees.push(tree);
  const linuxRoots = { sysRoot: tree.sysRoot, procRoot: tree.procRoot };
  const open = () =>
    UsbfsTransport.open(device, {
      sys: kernel,
      platform: 'linux',
      linuxRoots,
      ...(options.statusAhead === undefined ? {} : { statusAhead: options.statusAhead }),
      ...(options.mainThreadReapMs === undefined ? {} : { mainThreadReapMs: options.mainThreadReapMs }),
    });
  return { sim, kernel, device, tree, open };
}

/** One raw BOT command's CBW (BOT 1.0 §5.1). */
function cbw(tag: number, length: number, direction: 'in' | 'out' | 'none', cdb: number[]): Uint8Array {
  return encodeCbw({ tag, dataTransferLength: length, direction: direction === 'in' ? 'in' : 'out', lun: 0, cdb: new Uint8Array(cdb) });
}

const READ10_ONE_BLOCK = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
const opts = { timeoutMs: 2000 };

describe('UsbfsTransport: claim and handoff', () => {
  it('reports the same TransportInfo as the node-usb transport (endpoints, bus, address, bcdDevice)', async () => {
    const kernel = new FakeUsbfsKernel(new SimulatedDevice({ luns: [{ blocks: 64 }] }).transport, { driver: 'usb-storage' });
    const device = () =>
      new FakeUsbDevice({
        bus: '003',
        address: 9,
        speed: 'super',
        deviceVersion: [1, 2, 3],
        interfaces: [{ interfaceNumber: 0, alternates: [{ bulk: [1, 2], packetSize: 1024 }] }],
      });
    const usbfs = await UsbfsTransport.open(device(), {
      sys: kernel,
      platform: 'linux',
      force: true,
      linuxRoots: { sysRoot: '/nonexistent', procRoot: '/nonexistent' },
    });
    const nodeUsb = await NodeUsbTransport.open(device(), { platform: 'darwin' });
    expect(usbfs.info).toMatchObject({ endpointIn: 0x81, endpointOut: 0x02, busNumber: 3, deviceAddress: 9, bcdDevice: 0x0123, speed: 'super' });
    const { maxTransferSize: _a, ...usbfsInfo } = usbfs.info;
    const { maxTransferSize: _b, ...nodeUsbInfo } = nodeUsb.info;
    expect(usbfsInfo).toEqual(nodeUsbInfo);
    await usbfs.close();
    await nodeUsb.close();
  });

  it('claims with DISCONNECT_CLAIM except "usbfs", and on close releases, then re-attaches the driver', async () => {
    const { kernel, open } = await setup();
    const transport = await open();
    expect(transport.detachedDriver).toBe('usb-storage');
    expect(kernel.log).toContain('open /dev/bus/usb/001/005');
    expect(kernel.log).toContain('DISCONNECT_CLAIM if=0 flags=2 driver=usbfs');
    expect(kernel.driver).toBe('usbfs');
    await transport.close();
    const tail = kernel.log.slice(-3);
    expect(tail).toEqual(['RELEASEINTERFACE 0', 'IOCTL CONNECT if=0', 'close 7']);
    expect(kernel.driver).toBe('usb-storage');
    await transport.close(); // idempotent
  });

  it('refuses to detach while a partition is mounted, before opening the node', async () => {
    const { kernel, open } = await setup({
      tree: {
        driver: 'usb-storage',
        disks: [{ name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17' }] }],
        mounts: [{ dev: '8:17', mountPoint: '/media/usb' }],
      },
    });
    await expect(open()).rejects.toThrow(/\/dev\/sdb1 is mounted at \/media\/usb.*umount \/media\/usb/);
    expect(kernel.log.some((l) => l.startsWith('open'))).toBe(false);
  });

  it('EBUSY from DISCONNECT_CLAIM (another program holds it through usbfs) is an AccessDeniedError that says who', async () => {
    const { kernel, open } = await setup();
    kernel.failNext.set('DISCONNECT_CLAIM', Errno.EBUSY);
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toMatch(/held by the "usb-storage" driver/);
    expect(kernel.log.at(-1)).toBe('close 7');
  });

  it('EACCES on open gives the udev rule hint', async () => {
    const { kernel, open } = await setup();
    kernel.failNext.set('open', Errno.EACCES);
    await expect(open()).rejects.toThrow(/udev rule.*ATTR\{idVendor\}=="1209"/);
  });

  it('ENODEV on open: the device is gone', async () => {
    const { kernel, open } = await setup();
    kernel.failNext.set('open', Errno.ENODEV);
    await expect(open()).rejects.toBeInstanceOf(DisconnectedError);
  });

  it('a port reset claims again only after the mount check passes again (the kernel re-bound usb-storage)', async () => {
    const { kernel, tree, open } = await setup();
    const transport = await open();
    await transport.portReset({ timeoutMs: 1000 });
    expect(kernel.log.filter((l) => l.startsWith('DISCONNECT_CLAIM'))).toHaveLength(2);
    // Something mounted the disk while usb-storage had it after the next reset.
    await writeFile(join(tree.procRoot, 'self/mountinfo'), '40 22 8:17 / /media/usb rw - vfat /dev/sdb1 rw\n');
    await expect(transport.portReset({ timeoutMs: 1000 })).rejects.toThrow(/mounted at \/media\/usb/);
    expect(kernel.log.filter((l) => l.startsWith('DISCONNECT_CLAIM'))).toHaveLength(2);
    await transport.close();
  });

  it('names the node /dev/bus/usb/BBB/DDD', () => {
    expect(usbfsPath(new FakeUsbDevice({ bus: '3', address: 17 }))).toBe('/dev/bus/usb/003/017');
    expect(usbfsPath({ ...new FakeUsbDevice(), bus: undefined } as never)).toBeUndefined();
  });
});

describe('UsbfsTransport under MscDevice (BOT device model behind a fake usbfs kernel)', () => {
  it('as shipped the main thread reaps every completion itself: no wake-up by the reaper thread per command', async () => {
    const { kernel, open } = await setup();
    const transport = await open();
    const device = await MscDevice.open(transport);
    await device.read(0, 1);
    const events = kernel.events;
    const reaps = kernel.mainThreadReaps;
    await device.testUnitReady();
    await device.read(0, 8);
    await device.write(0, new Uint8Array(512));
    expect(kernel.events - events).toBe(0);
    // CBW + status for TUR; CBW + data + status for READ and WRITE.
    expect(kernel.mainThreadReaps - reaps).toBe(8);
    expect(transport.stats.handOffs).toBe(0);
    expect(kernel.violations).toEqual([]);
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('a command that outlasts mainThreadReapMs is left to the reaper thread (one wake-up); the next one is reaped on the main thread again', async () => {
    const { kernel, open } = await setup({ mainThreadReapMs: 5, sim: { commandDelayMs: (cdb) => (cdb[0] === 0x35 ? 60 : 0) } });
    const transport = await open();
    const device = await MscDevice.open(transport);
    await device.testUnitReady();
    const events = kernel.events;
    await device.lun(0).flush(); // SYNCHRONIZE CACHE (10) takes 60 ms here
    expect(transport.stats.handOffs).toBe(1);
    expect(kernel.events - events).toBeGreaterThanOrEqual(1);
    const after = kernel.events;
    const reaps = kernel.mainThreadReaps;
    await device.testUnitReady();
    expect(kernel.events - after).toBe(0);
    expect(kernel.mainThreadReaps - reaps).toBe(2);
    await device.close();
  });

  it('rejects a mainThreadReapMs that is not a non-negative number before opening anything', async () => {
    const { kernel, device } = await setup();
    await expect(UsbfsTransport.open(device, { sys: kernel, platform: 'linux', mainThreadReapMs: -1 })).rejects.toThrow(/mainThreadReapMs/);
    expect(kernel.log).toEqual([]);
  });

  it('mainThreadReapMs: 0 leaves every completion to the reaper thread: the status read queued behind the data, one wake-up per TEST UNIT READY', async () => {
    const { kernel, open } = await setup({ mainThreadReapMs: 0, statusAhead: true });
    const device = await MscDevice.open(await open());
    const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    await device.write(10, data);
    const into = new Uint8Array(4096);
    const read = await device.read(10, 8, { into });
    expect(read).toEqual(data);
    expect(read.buffer).toBe(into.buffer);
    // Data-in: data and status URBs were submitted together, the data one held.
    expect(kernel.log).toContain('SUBMITURB ep=0x81 len=4096 hold');
    const before = kernel.events;
    await device.testUnitReady();
    expect(kernel.events - before).toBe(1);
    const beforeRead = kernel.events;
    await device.read(0, 1);
    expect(kernel.events - beforeRead).toBeLessThanOrEqual(2);
    const beforeWrite = kernel.events;
    await device.write(0, new Uint8Array(512));
    expect(kernel.events - beforeWrite).toBeLessThanOrEqual(2);
    expect(kernel.violations).toEqual([]);
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('statusAhead: false reads the status after the data', async () => {
    const { kernel, open } = await setup({ statusAhead: false });
    const device = await MscDevice.open(await open());
    await device.read(0, 1);
    expect(kernel.log.some((l) => l.endsWith('hold') && l.includes('ep=0x81'))).toBe(false);
    await device.close();
  });

  it('short data then a stalled status read (f_mass_storage, BOT 1.0 §6.7.2 case 5): the status is read again after CLEAR_HALT', async () => {
    const { kernel, open } = await setup({ statusAhead: true, sim: { stallOnShortDataIn: true } });
    const device = await MscDevice.open(await open());
    kernel.log.length = 0;
    const r = await device.run(inquiry({ allocationLength: 255 }));
    expect(r.vendor).toBeDefined();
    expect(kernel.log).toEqual([
      'SUBMITURB ep=0x2 len=31',
      'SUBMITURB ep=0x81 len=255 hold',
      'SUBMITURB ep=0x81 len=13',
      'CLEAR_HALT 0x81',
      'SUBMITURB ep=0x81 len=13',
    ]);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('a stalled data-in with the status read queued behind it: DISCARDURB of the queued read, then CLEAR_HALT, then the status', async () => {
    const { kernel, open } = await setup({ statusAhead: true });
    const device = await MscDevice.open(await open());
    await device.read(0, 1); // READ CAPACITY happens once, before the first read
    kernel.log.length = 0;
    // BOT 1.0 §6.7.2 (Hi > Dn): the device STALLs the data-in at once (READ past the end).
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPIPE, actual: 0 }]);
    await expect(device.read(0, 1)).rejects.toThrow();
    const discard = kernel.log.indexOf('DISCARDURB ep=0x81');
    const clear = kernel.log.indexOf('CLEAR_HALT 0x81');
    expect(discard).toBeGreaterThanOrEqual(0);
    expect(clear).toBeGreaterThan(discard);
    expect(kernel.log.slice(0, 3)).toEqual(['SUBMITURB ep=0x2 len=31', 'SUBMITURB ep=0x81 len=512 hold', 'SUBMITURB ep=0x81 len=13']);
    expect(kernel.violations).toEqual([]);
    // The queued read was discarded, not left to take the next command's bytes.
    await device.testUnitReady();
    expect(await device.read(0, 1)).toHaveLength(512);
    await device.close();
  });

  // MscTransport.queuesTransfers: the engine hands over a command's stages together (BOT 1.0 §5).
  const submissions = (log: string[]): string[] =>
    log.filter((l) => l.startsWith('SUBMITURB') || l.startsWith('REAP') || l.startsWith('CLEAR') || l.startsWith('DISCARD'));

  it('as shipped a WRITE goes as CBW + data-out + status read together; a READ as CBW, then data, then status, as Linux', async () => {
    const { kernel, open } = await setup();
    const device = await MscDevice.open(await open());
    await device.testUnitReady();
    await device.read(0, 1); // READ CAPACITY once
    const data = new Uint8Array(8 * 512).map((_, i) => (i * 13) & 0xff);
    kernel.order.length = 0;
    await device.write(100, data);
    expect(kernel.order.slice(0, 4)).toEqual(['submit ep=0x2 len=31', 'submit ep=0x2 len=4096', 'submit ep=0x81 len=13', 'done ep=0x2']);
    kernel.order.length = 0;
    const into = new Uint8Array(8 * 512);
    expect(await device.read(100, 8, { into })).toEqual(data);
    // No IN token before the device has the CBW (QEMU stalls it), nothing queued behind the data-in.
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=4096', 'done ep=0x81', 'submit ep=0x81 len=13', 'done ep=0x81']);
    expect(kernel.violations).toEqual([]);
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('without early status reads (learned off on a device that stalls early IN tokens, like QEMU) the data-out still follows its CBW at once', async () => {
    const { kernel, open } = await setup();
    const device = await MscDevice.open(await open(), { earlyStatus: false });
    await device.read(0, 1);
    kernel.order.length = 0;
    await device.write(0, new Uint8Array(512));
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'submit ep=0x2 len=512', 'done ep=0x2', 'done ep=0x2', 'submit ep=0x81 len=13', 'done ep=0x81']);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('chained stages: the data-in and status reads are submitted from the reaping turn that saw the stage before end, before its promise settles', async () => {
    const { kernel, transport } = await (async () => {
      const ctx = await setup();
      return { ...ctx, transport: await ctx.open() };
    })();
    const into = new Uint8Array(512);
    const sent = transport.bulkOut(cbw(1, 512, 'in', READ10_ONE_BLOCK), opts);
    const data = transport.bulkIn(512, { ...opts, into, chained: true });
    const status = transport.bulkIn(13, { ...opts, chained: true });
    expect((await sent).status).toBe('ok');
    // Nothing of the engine ran between the CBW's end and the data-in's submission.
    expect(kernel.order.slice(0, 3)).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=512']);
    expect((await data).data).toHaveLength(512);
    expect((await status).data).toHaveLength(13);
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=512', 'done ep=0x81', 'submit ep=0x81 len=13', 'done ep=0x81']);
    await transport.close();
  });

  it('chained stages: a stage that does not end in full (stalled CBW, stalled data-in) leaves the next one unsubmitted, rejected AbortError (notSubmitted)', async () => {
    const ctx = await setup();
    const transport = await ctx.open();
    const { kernel } = ctx;
    kernel.urbOutcomes.set(0x02, [{ status: -Errno.EPIPE, actual: 0 }]);
    const sent = transport.bulkOut(cbw(1, 512, 'in', READ10_ONE_BLOCK), opts);
    const data = transport.bulkIn(512, { ...opts, chained: true }).catch((e: unknown) => e);
    const status = transport.bulkIn(13, { ...opts, chained: true }).catch((e: unknown) => e);
    expect((await sent).status).toBe('stall');
    for (const e of [await data, await status]) {
      expect(e).toBeInstanceOf(AbortError);
      expect((e as AbortError).details?.notSubmitted).toBe(true);
    }
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2']);
    await transport.clearHalt('out', opts);
    kernel.order.length = 0;
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPIPE, actual: 0 }]);
    const sent2 = transport.bulkOut(cbw(2, 512, 'in', READ10_ONE_BLOCK), opts);
    const data2 = transport.bulkIn(512, { ...opts, chained: true });
    const status2 = transport.bulkIn(13, { ...opts, chained: true }).catch((e: unknown) => e);
    await sent2;
    expect((await data2).status).toBe('stall');
    expect(((await status2) as AbortError).details?.notSubmitted).toBe(true);
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=512', 'done ep=0x81']);
    expect(kernel.violations).toEqual([]);
    await transport.close();
  });

  it('together: a transfer asked together with a chained one is submitted with it, right behind it; never if that one never goes', async () => {
    const ctx = await setup();
    const transport = await ctx.open();
    const { kernel } = ctx;
    const write10 = [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    // A first command (TEST UNIT READY); the second's CBW waits for its status read, its data-out goes with that CBW.
    const sent = transport.bulkOut(cbw(1, 0, 'out', [0, 0, 0, 0, 0, 0]), opts);
    const status = transport.bulkIn(13, { ...opts, chained: true });
    const sent2 = transport.bulkOut(cbw(2, 512, 'out', write10), { ...opts, chained: true });
    const data2 = transport.bulkOut(new Uint8Array(512), { ...opts, together: true });
    const status2 = transport.bulkIn(13, { ...opts, chained: true });
    for (const p of [sent, status, sent2, data2, status2]) await p;
    expect(kernel.order).toEqual([
      'submit ep=0x2 len=31',
      'done ep=0x2',
      'submit ep=0x81 len=13',
      'done ep=0x81',
      'submit ep=0x2 len=31',
      'submit ep=0x2 len=512',
      'done ep=0x2',
      'done ep=0x2',
      'submit ep=0x81 len=13',
      'done ep=0x81',
    ]);
    // The chain breaks before the CBW (its status read stalls): neither the CBW nor its data-out is submitted.
    kernel.order.length = 0;
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPIPE, actual: 0 }]);
    const sent3 = transport.bulkOut(cbw(3, 0, 'out', [0, 0, 0, 0, 0, 0]), opts);
    const status3 = transport.bulkIn(13, { ...opts, chained: true });
    const sent4 = transport.bulkOut(cbw(4, 512, 'out', write10), { ...opts, chained: true }).catch((e: unknown) => e);
    const data4 = transport.bulkOut(new Uint8Array(512), { ...opts, together: true }).catch((e: unknown) => e);
    await sent3;
    expect((await status3).status).toBe('stall');
    for (const e of [await sent4, await data4]) expect((e as AbortError).details?.notSubmitted).toBe(true);
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=13', 'done ep=0x81']);
    expect(kernel.violations).toEqual([]);
    await transport.clearHalt('in', opts);
    await transport.close();
  });

  it('as shipped on a device without early status reads, a TEST UNIT READY costs one engine round trip: the status read is chained to the CBW', async () => {
    const { kernel, open } = await setup();
    const transport = await open();
    const device = await MscDevice.open(transport, { earlyStatus: false });
    kernel.order.length = 0;
    let settledAt = -1;
    const bulkOut = transport.bulkOut.bind(transport);
    transport.bulkOut = (data, options) =>
      bulkOut(data, options).then((r) => {
        settledAt = kernel.order.length;
        return r;
      });
    await device.testUnitReady();
    expect(kernel.order).toEqual(['submit ep=0x2 len=31', 'done ep=0x2', 'submit ep=0x81 len=13', 'done ep=0x81']);
    // The status read was submitted before the CBW's promise settled.
    expect(settledAt).toBeGreaterThanOrEqual(3);
    await device.close();
  });

  it('chained status read, short data then a stalled status read (f_mass_storage, BOT 1.0 §6.7.2 case 5): CLEAR_HALT, the status again; early status stays on', async () => {
    const { kernel, open } = await setup({ sim: { stallOnShortDataIn: true } });
    const device = await MscDevice.open(await open());
    await device.testUnitReady();
    kernel.log.length = 0;
    const r = await device.run(inquiry({ allocationLength: 255 }));
    expect(r.vendor).toBeDefined();
    expect(submissions(kernel.log)).toEqual([
      'SUBMITURB ep=0x2 len=31',
      'SUBMITURB ep=0x81 len=255',
      'SUBMITURB ep=0x81 len=13',
      'CLEAR_HALT 0x81',
      'SUBMITURB ep=0x81 len=13',
    ]);
    // A stalled status read after the data stage is the status stage's own stall, not an early IN token's.
    expect(device.earlyStatus).toBe(true);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('chained status read, a stalled data-in (BOT 1.0 §6.7.2): the status read is never submitted; CLEAR_HALT, then it is', async () => {
    const { kernel, open } = await setup();
    const device = await MscDevice.open(await open());
    await device.testUnitReady();
    await device.read(0, 1);
    kernel.log.length = 0;
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPIPE, actual: 0 }]);
    await expect(device.read(0, 1)).rejects.toThrow();
    expect(submissions(kernel.log).slice(0, 4)).toEqual([
      'SUBMITURB ep=0x2 len=31',
      'SUBMITURB ep=0x81 len=512',
      'CLEAR_HALT 0x81',
      'SUBMITURB ep=0x81 len=13',
    ]);
    expect(kernel.violations).toEqual([]);
    await device.testUnitReady();
    expect(await device.read(0, 1)).toHaveLength(512);
    await device.close();
  });

  it('a stalled CBW with its data-out queued: the queued data-out and status read are discarded and the device is reset', async () => {
    const { kernel, open } = await setup();
    const device = await MscDevice.open(await open());
    await device.testUnitReady();
    await device.read(0, 1);
    kernel.log.length = 0;
    kernel.urbOutcomes.set(0x02, [{ status: -Errno.EPIPE, actual: 0 }]);
    await expect(device.write(5, new Uint8Array(512).fill(0xee))).rejects.toThrow(/stalled the CBW/);
    expect(kernel.log).toContain('DISCARDURB ep=0x2');
    expect(kernel.log).toContain('DISCARDURB ep=0x81');
    expect(kernel.violations).toEqual([]);
    await device.testUnitReady();
    // Nothing of the refused command reached the medium.
    expect(await device.read(5, 1)).not.toEqual(new Uint8Array(512).fill(0xee));
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('the fake kernel itself flags CLEAR_HALT with URBs queued (what xHCI refuses)', async () => {
    const { kernel, open } = await setup();
    const transport = await open();
    kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
    const pending = transport.bulkIn(13, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Bypass the transport's discard to check the check: a blocking call straight to the fake.
    const reaper = kernel.startReaper(7, new Uint8Array(0), () => undefined);
    const arg = new Uint8Array(4);
    arg[0] = 0x81;
    await reaper.call(0x80045515, arg);
    expect(kernel.violations).toEqual(['CLEAR_HALT 0x81 with 1 URB(s) queued']);
    void pending;
  });
});

describe('UsbfsTransport: every errno usbfs reports', () => {
  async function raw(options: Parameters<typeof setup>[0] = {}) {
    const ctx = await setup(options);
    const transport = await ctx.open();
    return { ...ctx, transport };
  }

  it('reaping turns read the clock only every few turns, yet a time limit counts whole from its submission, even after the queue sat idle', async () => {
    const { kernel, transport } = await raw({ mainThreadReapMs: 3_600_000 });
    let clock = 1_000;
    let reads = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => {
      reads++;
      return clock;
    });
    let reaps = 0;
    const ioctl = kernel.ioctl.bind(kernel);
    kernel.ioctl = (fd, request, arg) => {
      if (request === UsbfsIoctl.REAPURBNDELAY) reaps++;
      return ioctl(fd, request, arg);
    };
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      kernel.urbOutcomes.set(0x81, [{ status: 0, data: new Uint8Array(13) }]);
      expect((await transport.bulkIn(13, opts)).data).toHaveLength(13);
      clock += 60_000; // a minute without a transfer
      kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
      let outcome: unknown;
      void transport.bulkIn(13, { timeoutMs: 1_000 }).then(
        () => {
          outcome = 'completed';
        },
        (e: unknown) => {
          outcome = e;
        },
      );
      await wait(30);
      clock += 999;
      reads = 0;
      reaps = 0;
      await wait(30);
      expect(outcome).toBeUndefined();
      // Many empty turns, one clock read per eight of them (and one more at most).
      expect(reaps).toBeGreaterThan(16);
      expect(reads).toBeLessThanOrEqual(Math.ceil(reaps / 8) + 1);
      clock += 2;
      await wait(30);
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect(kernel.inflight).toBe(0);
    } finally {
      vi.restoreAllMocks();
      await transport.close();
    }
  });

  it('EPIPE on a bulk-IN URB is a stall result with the bytes before it', async () => {
    const { kernel, transport } = await raw();
    await transport.bulkOut(cbw(1, 512, 'in', READ10_ONE_BLOCK), opts);
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPIPE, data: new Uint8Array(100) }]);
    const r = await transport.bulkIn(512, opts);
    expect(r.status).toBe('stall');
    expect(r.data.length).toBe(100);
    await transport.clearHalt('in', opts);
    expect(kernel.violations).toEqual([]);
    await transport.close();
  });

  it('EPIPE on a bulk-OUT URB is a stall result', async () => {
    const { kernel, transport } = await raw();
    kernel.urbOutcomes.set(0x02, [{ status: -Errno.EPIPE, actual: 0 }]);
    expect(await transport.bulkOut(new Uint8Array(31), opts)).toEqual({ status: 'stall', bytesWritten: 0 });
    await transport.close();
  });

  it('EOVERFLOW is babble', async () => {
    const { kernel, transport } = await raw();
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EOVERFLOW, data: new Uint8Array(13) }]);
    const r = await transport.bulkIn(13, opts);
    expect(r.status).toBe('babble');
    await transport.close();
  });

  it('ETIMEDOUT is a TimeoutError', async () => {
    const { kernel, transport } = await raw();
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.ETIMEDOUT }]);
    await expect(transport.bulkIn(13, opts)).rejects.toBeInstanceOf(TimeoutError);
    await transport.close();
  });

  it('ESHUTDOWN and ENODEV (URB status) are DisconnectedError and fire onDisconnect; later calls fail fast', async () => {
    for (const errno of [Errno.ESHUTDOWN, Errno.ENODEV]) {
      const { kernel, transport } = await raw();
      let fired = 0;
      transport.onDisconnect(() => fired++);
      kernel.urbOutcomes.set(0x81, [{ status: -errno }]);
      await expect(transport.bulkIn(13, opts)).rejects.toBeInstanceOf(DisconnectedError);
      expect(fired).toBe(1);
      await expect(transport.bulkOut(new Uint8Array(31), opts)).rejects.toBeInstanceOf(DisconnectedError);
      await transport.close();
    }
  });

  it('ENODEV from SUBMITURB is DisconnectedError; EINVAL is a TransportError; ENOMEM names the usbfs memory limit', async () => {
    const { kernel, transport } = await raw();
    kernel.failNext.set('SUBMITURB', Errno.EINVAL);
    await expect(transport.bulkIn(13, opts)).rejects.toBeInstanceOf(TransportError);
    kernel.failNext.set('SUBMITURB', Errno.ENOMEM);
    await expect(transport.bulkIn(13, opts)).rejects.toThrow(/usbfs_memory_mb/);
    kernel.failNext.set('SUBMITURB', Errno.ENODEV);
    await expect(transport.bulkIn(13, opts)).rejects.toBeInstanceOf(DisconnectedError);
    expect(transport.disconnected).toBe(true);
    await transport.close();
  });

  it('EPROTO (a transaction error) is a TransportError carrying the errno', async () => {
    const { kernel, transport } = await raw();
    kernel.urbOutcomes.set(0x81, [{ status: -Errno.EPROTO }]);
    const error = await transport.bulkIn(13, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).details?.errno).toBe(Errno.EPROTO);
    await transport.close();
  });

  // The main thread checks time limits and aborts while it reaps (1000: the whole time), timers and
  // listeners watch once the reaper thread waits (0: from the start; 20, as shipped: after 20 ms).
  it.each([20, 0, 1000])(
    'timeout: DISCARDURB, then the URB completes with ECONNRESET and the promise rejects TimeoutError only after the reap (mainThreadReapMs %i)',
    async (mainThreadReapMs) => {
      const { kernel, transport } = await raw({ mainThreadReapMs });
      kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
      const started = Date.now();
      const error = await transport.bulkIn(13, { timeoutMs: 30 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeLessThan(50 + 30);
      expect(kernel.log).toContain('DISCARDURB ep=0x81');
      expect(kernel.inflight).toBe(0);
      expect(transport.stats.cancelled).toBe(1);
      await transport.close();
    },
  );

  it.each([20, 0, 1000])(
    'abort mid-read: settles within 50 ms with AbortError, nothing left in flight, the pipe works again (mainThreadReapMs %i)',
    async (mainThreadReapMs) => {
      const { kernel, transport } = await raw({ statusAhead: true, mainThreadReapMs });
      kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
      const controller = new AbortController();
      const pending = transport.bulkIn(4096, { timeoutMs: 60_000, signal: controller.signal, into: new Uint8Array(4096) });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const t0 = performance.now();
      controller.abort(new Error('user'));
      const error = await pending.catch((e: unknown) => e);
      expect(performance.now() - t0).toBeLessThan(50);
      expect(error).toBeInstanceOf(AbortError);
      expect(kernel.inflight).toBe(0);
      // Both the data URB and the status read queued behind it were discarded (the later one first).
      expect(kernel.log.filter((l) => l === 'DISCARDURB ep=0x81')).toHaveLength(2);
      // Both ended early by the kernel (ECONNRESET/ENOENT), not completed.
      expect(transport.stats.cancelled).toBe(2);
      kernel.urbOutcomes.set(0x81, [{ status: 0, data: new Uint8Array(13).fill(1) }]);
      expect((await transport.bulkIn(13, opts)).data).toEqual(new Uint8Array(13).fill(1));
      await transport.close();
    },
  );

  it('ENOENT/ECONNRESET not asked for by a timeout or abort is a TransportError', async () => {
    for (const errno of [Errno.ENOENT, Errno.ECONNRESET]) {
      const { kernel, transport } = await raw();
      kernel.urbOutcomes.set(0x81, [{ status: -errno }]);
      await expect(transport.bulkIn(13, opts)).rejects.toThrow(errno === Errno.ENOENT ? /ENOENT/ : /ECONNRESET/);
      await transport.close();
    }
  });

  it('EPIPE from CLEAR_HALT is a TransportError', async () => {
    const { kernel, transport } = await raw();
    kernel.failNext.set('CLEAR_HALT', Errno.EPIPE);
    await expect(transport.clearHalt('out', opts)).rejects.toThrow(/CLEAR_FEATURE\(ENDPOINT_HALT\) on the bulk-out endpoint .* was stalled/);
    await transport.close();
  });

  it('Get Max LUN and Bulk-Only reset go out as control URBs to the interface', async () => {
    const { kernel, transport } = await raw();
    expect(await transport.classRequest({ request: 'get-max-lun' }, opts)).toEqual({ status: 'ok', data: new Uint8Array([0]) });
    expect(await transport.classRequest({ request: 'bulk-only-reset' }, opts)).toEqual({ status: 'ok', data: new Uint8Array(0) });
    kernel.urbOutcomes.set(0, [{ status: -Errno.EPIPE }]);
    expect((await transport.classRequest({ request: 'get-max-lun' }, opts)).status).toBe('stall');
    expect(kernel.log.filter((l) => l.startsWith('SUBMITURB ep=0x0'))).toEqual(['SUBMITURB ep=0x0 len=9', 'SUBMITURB ep=0x0 len=8', 'SUBMITURB ep=0x0 len=9']);
    await transport.close();
  });

  it('close with a URB in flight discards it, settles it (ClosedError) and re-attaches the driver', async () => {
    const { kernel, transport } = await raw();
    kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
    const pending = transport.bulkIn(13, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await transport.close();
    expect(await pending).toBeInstanceOf(ClosedError);
    expect(kernel.inflight).toBe(0);
    expect(kernel.driver).toBe('usb-storage');
  });

  it('unplug with URBs in flight: every pending transfer rejects DisconnectedError at once', async () => {
    const { kernel, transport } = await raw();
    let fired = 0;
    transport.onDisconnect(() => fired++);
    kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true }]);
    const reading = transport.bulkIn(4096, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 5));
    kernel.unplug();
    expect(await reading).toBeInstanceOf(DisconnectedError);
    expect(fired).toBe(1);
    await transport.close();
    expect(kernel.log.includes('RELEASEINTERFACE 0')).toBe(false);
  });
});
