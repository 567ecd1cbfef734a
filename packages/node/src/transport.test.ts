import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortError,
  AccessDeniedError,
  ClosedError,
  DisconnectedError,
  InvalidArgumentError,
  NotFoundError,
  TimeoutError,
  TransportError,
  UnsupportedError,
} from '@usbms/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTransport } from './open.js';
import { type FakeLinuxTree, makeLinuxTree } from './testing/fake-sysfs.js';
import { FakeUsb, FakeUsbDevice } from './testing/fake-usb.js';
import { NodeUsbTransport, type NodeUsbTransportOptions } from './transport.js';

const trees: FakeLinuxTree[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const t of trees.splice(0)) await t.cleanup();
});

async function linuxTree(opts: Parameters<typeof makeLinuxTree>[0]): Promise<NodeUsbTransportOptions> {
  const tree = await makeLinuxTree(opts);
  trees.push(tree);
  return { platform: 'linux', linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot } };
}

const uasAndBot = [
  {
    interfaceNumber: 0,
    alternates: [
      { alternateSetting: 0, interfaceProtocol: 0x50, bulk: [1, 2] as [number, number] },
      { alternateSetting: 1, interfaceProtocol: 0x62, bulk: [3, 4] as [number, number] },
    ],
  },
];

async function openFake(device = new FakeUsbDevice(), options: NodeUsbTransportOptions = {}) {
  const usb = new FakeUsb([device]);
  const transport = await NodeUsbTransport.open(device, { platform: 'darwin', usb, ...options });
  return { usb, device, transport };
}

describe('NodeUsbTransport.open', () => {
  it('opens, claims, and reports endpoints, packet sizes and device info', async () => {
    const { device, transport } = await openFake(
      new FakeUsbDevice({ speed: 'superPlus', interfaces: [{ interfaceNumber: 0, alternates: [{ bulk: [1, 2], packetSize: 1024 }] }] }),
    );
    expect(device.calls).toEqual(['open()', 'claimInterface(0)']);
    expect(transport.info).toMatchObject({
      maxPacketSizeIn: 1024,
      maxPacketSizeOut: 1024,
      speed: 'super-plus',
      vendorId: 0x0781,
      productId: 0x5567,
      serialNumber: 'SN0001',
      interfaceNumber: 0,
      interfaceSubclass: 0x06,
      interfaceProtocol: 0x50,
    });
  });

  it('selects a configuration only when none is active', async () => {
    const unconfigured = new FakeUsbDevice({ activeConfiguration: undefined });
    await openFake(unconfigured);
    expect(unconfigured.calls).toContain('selectConfiguration(1)');
    const configured = new FakeUsbDevice();
    await openFake(configured);
    expect(configured.calls.some((c) => c.startsWith('selectConfiguration'))).toBe(false);
  });

  it('selects the BOT alternate of a UAS-capable interface after claiming', async () => {
    const device = new FakeUsbDevice({ interfaces: uasAndBot });
    device.selectedAlternate.set(0, 1); // the OS left UAS selected
    const { transport } = await openFake(device);
    expect(device.calls).toEqual(['open()', 'claimInterface(0)', 'selectAlternateInterface(0,0)']);
    expect(transport.alternateSetting).toBe(0);
  });

  it('refuses a UAS-only interface with UnsupportedError', async () => {
    const device = new FakeUsbDevice({ interfaces: [{ interfaceNumber: 0, alternates: [{ interfaceProtocol: 0x62, bulk: [1, 2] }] }] });
    const error = await openFake(device).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toMatch(/^UAS-only device, not supported yet/);
    // Nothing left open behind the error.
    expect(device.opened).toBe(false);
  });

  it('accepts a vendor-class interface only when named', async () => {
    const device = new FakeUsbDevice({
      interfaces: [{ interfaceNumber: 2, alternates: [{ interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0, bulk: [5, 6] }] }],
    });
    await expect(openFake(device)).rejects.toBeInstanceOf(NotFoundError);
    const { transport } = await openFake(device, { vendorClassInterface: 2, interfaceNumber: 2 });
    expect(transport.interfaceNumber).toBe(2);
    await transport.bulkOut(new Uint8Array(31), { timeoutMs: 1000 });
    expect(device.calls.at(-1)).toBe('transferOut(6,31)');
  });

  it('on Linux detaches usb-storage before claiming and re-attaches it on close', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const opts = await linuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17' }] }] });
    const { transport } = await openFake(device, opts);
    expect(device.calls).toEqual(['open()', 'detachKernelDriver(0)', 'claimInterface(0)']);
    expect(transport.detachedDriver).toBe('usb-storage');
    await transport.close();
    expect(device.calls.slice(3)).toEqual(['releaseInterface(0)', 'attachKernelDriver(0)', 'close()']);
    expect(device.kernelDrivers.get(0)).toBe('usb-storage');
  });

  it('on Linux reports the usbfs memory limit as the largest transfer (default 16 MiB, 1 MiB kept spare; 0 = none)', async () => {
    const opts = await linuxTree({ driver: 'usb-storage', disks: [] });
    const sysRoot = opts.linuxRoots?.sysRoot ?? '';
    const { transport } = await openFake(new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } }), opts);
    expect(transport.info.maxTransferSize).toBe(15 * 1024 * 1024);
    await transport.close();
    const param = join(sysRoot, 'module/usbcore/parameters');
    await mkdir(param, { recursive: true });
    await writeFile(join(param, 'usbfs_memory_mb'), '64\n');
    const raised = await openFake(new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } }), opts);
    expect(raised.transport.info.maxTransferSize).toBe(63 * 1024 * 1024);
    await raised.transport.close();
    await writeFile(join(param, 'usbfs_memory_mb'), '0\n');
    const unlimited = await openFake(new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } }), opts);
    expect(unlimited.transport.info.maxTransferSize).toBeUndefined();
    await unlimited.transport.close();
    const mac = await openFake();
    expect(mac.transport.info.maxTransferSize).toBeUndefined();
  });

  it('retries a re-attach that finds the interface still busy, and records a failure', async () => {
    vi.useFakeTimers();
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const { transport } = await openFake(device, await linuxTree({ driver: 'usb-storage' }));
    device.failNext.set('attachKernelDriver', new Error('attachKernelDriver error: Device or resource busy (os error 16)'));
    const closing = transport.close();
    await vi.advanceTimersByTimeAsync(1000);
    await closing;
    expect(device.calls.filter((c) => c === 'attachKernelDriver(0)')).toHaveLength(2);
    expect(transport.reattachError).toBeUndefined();
    expect(device.kernelDrivers.get(0)).toBe('usb-storage');

    const gone = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' }, handle: 'gone' });
    const second = await openFake(gone, await linuxTree({ driver: 'usb-storage' }));
    gone.failNext.set('attachKernelDriver', new Error('attachKernelDriver error: No such device (os error 19)'));
    await second.transport.close();
    expect((second.transport.reattachError as Error).message).toContain('No such device');
  });

  it('leaves the kernel driver detached with reattachOnClose: false', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'uas' } });
    const { transport } = await openFake(device, { ...(await linuxTree({ driver: 'uas' })), reattachOnClose: false });
    await transport.close();
    expect(device.calls).not.toContain('attachKernelDriver(0)');
  });

  it('refuses to detach while a partition is mounted, naming the mount point', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const opts = await linuxTree({
      driver: 'usb-storage',
      disks: [{ name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17' }] }],
      mounts: [{ dev: '8:17', mountPoint: '/media/my stick' }],
    });
    const error = await openFake(device, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('/dev/sdb1 is mounted at /media/my stick');
    expect((error as Error).message).toContain('umount');
    expect(device.calls).not.toContain('detachKernelDriver(0)');
    expect(device.opened).toBe(false);
  });

  it('refuses active swap and device-mapper holders too', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const opts = await linuxTree({
      driver: 'usb-storage',
      disks: [
        {
          name: 'sdc',
          dev: '8:32',
          partitions: [
            { name: 'sdc1', dev: '8:33', holders: ['dm-0'] },
            { name: 'sdc2', dev: '8:34' },
          ],
        },
      ],
      swaps: ['/dev/sdc2'],
    });
    const error = await openFake(device, opts).catch((e: unknown) => e);
    expect((error as Error).message).toContain('held by dm-0');
    expect((error as Error).message).toContain('/dev/sdc2 is in use as swap');
  });

  it('detaches a mounted disk when forced', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const opts = await linuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16' }], mounts: [{ dev: '8:16', mountPoint: '/mnt' }] });
    const { transport } = await openFake(device, { ...opts, force: true });
    expect(transport.detachedDriver).toBe('usb-storage');
  });

  it('with detachKernelDriver: false explains how to unbind instead', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const opts = await linuxTree({ driver: 'usb-storage' });
    const error = await openFake(device, { ...opts, detachKernelDriver: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('/sys/bus/usb/drivers/usb-storage/unbind');
  });

  it('refuses an interface another program claimed through usbfs', async () => {
    const device = new FakeUsbDevice();
    const error = await openFake(device, await linuxTree({ driver: 'usbfs' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('another program');
  });

  it('explains a Linux permission failure with a udev rule', async () => {
    const device = new FakeUsbDevice();
    device.failNext.set('open', new Error('open error: failed to open device: Permission denied (os error 13)'));
    const error = await openFake(device, await linuxTree({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('ATTR{idVendor}=="0781"');
    expect((error as Error).message).toContain('root');
  });

  it('explains a claim failure on macOS and on Windows', async () => {
    const mac = new FakeUsbDevice({ kernelDrivers: { 0: 'IOUSBMassStorageDriver' }, noKernelDriverMethods: true });
    const macError = await openFake(mac, { platform: 'darwin' }).catch((e: unknown) => e);
    expect(macError).toBeInstanceOf(AccessDeniedError);
    expect((macError as Error).message).toContain('node-usb 3.x cannot detach');
    expect(mac.opened).toBe(false);
    const win = new FakeUsbDevice({ kernelDrivers: { 0: 'USBSTOR' }, noKernelDriverMethods: true });
    const winError = await openFake(win, { platform: 'win32' }).catch((e: unknown) => e);
    expect((winError as Error).message).toContain('Zadig');
    expect((winError as Error).message).toContain('USBSTOR');
  });

  it('does not detach when sysfs cannot be read (mounts unverifiable), and says to use force', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const roots = { platform: 'linux' as const, linuxRoots: { sysRoot: '/nonexistent-sys', procRoot: '/nonexistent-proc' } };
    const error = await openFake(device, roots).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('could not read /sys');
    expect(device.calls).not.toContain('detachKernelDriver(0)');
    const { transport } = await openFake(device, { ...roots, force: true });
    expect(device.calls).toContain('detachKernelDriver(0)');
    expect(transport.detachedDriver).toBe('unknown');
  });

  it('gives the WinUSB/Zadig explanation for any Windows open failure such as NOT_SUPPORTED', async () => {
    const device = new FakeUsbDevice({ noKernelDriverMethods: true });
    device.failNext.set('open', new Error('open error: failed to open device: not supported'));
    const error = await openFake(device, { platform: 'win32' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('WinUSB');
    expect((error as Error).cause).toBeInstanceOf(UnsupportedError);
  });

  it('rolls back the detach when the claim fails', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    device.failNext.set('claimInterface', new Error('claimInterface error: failed to claim interface: Device or resource busy (os error 16)'));
    const error = await openFake(device, await linuxTree({ driver: 'usb-storage' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(device.calls).toEqual(['open()', 'detachKernelDriver(0)', 'claimInterface(0)', 'attachKernelDriver(0)', 'close()']);
  });
});

describe('NodeUsbTransport transfers', () => {
  it('bulkOut sends the data with the native timeout', async () => {
    const { device, transport } = await openFake();
    const nativeOut = vi.spyOn(device, 'nativeTransferOut');
    const result = await transport.bulkOut(new Uint8Array([1, 2, 3]), { timeoutMs: 1234 });
    expect(result).toEqual({ status: 'ok', bytesWritten: 3 });
    expect(nativeOut).toHaveBeenCalledWith(2, 1234, new Uint8Array([1, 2, 3]));
  });

  it('bulkIn asks for whole packets and returns what came', async () => {
    const { device, transport } = await openFake();
    device.inReplies.push(new Uint8Array(13).fill(7));
    const result = await transport.bulkIn(13, { timeoutMs: 1000 });
    expect(device.inLengths).toEqual([512]);
    expect(result.status).toBe('ok');
    expect(result.data).toEqual(new Uint8Array(13).fill(7));
  });

  it('bulkIn fills `into` and returns a view of it (byteOffset respected)', async () => {
    const { device, transport } = await openFake();
    device.inReplies.push(new Uint8Array([9, 8, 7]));
    const backing = new Uint8Array(16);
    const into = backing.subarray(4, 12);
    const result = await transport.bulkIn(8, { timeoutMs: 1000, into });
    expect(result.data).toEqual(new Uint8Array([9, 8, 7]));
    expect(result.data.buffer).toBe(backing.buffer);
    expect(result.data.byteOffset).toBe(4);
    expect([...backing.subarray(4, 7)]).toEqual([9, 8, 7]);
  });

  it('reports more data than requested as babble, keeping what fits', async () => {
    const { device, transport } = await openFake();
    device.inReplies.push(new Uint8Array(20).fill(1));
    const result = await transport.bulkIn(13, { timeoutMs: 1000 });
    expect(result.status).toBe('babble');
    expect(result.data.length).toBe(13);
  });

  it('reports node-usb Fault on bulk IN as babble', async () => {
    const { device, transport } = await openFake();
    device.inReplies.push(new Error('transferIn error: Fault'));
    expect((await transport.bulkIn(512, { timeoutMs: 1000 })).status).toBe('babble');
  });

  it('reports stalls (exception text or null) as results', async () => {
    const { device, transport } = await openFake();
    device.inReplies.push('stall', null);
    device.outReplies.push('stall', -1);
    expect(await transport.bulkIn(13, { timeoutMs: 1000 })).toEqual({ status: 'stall', data: new Uint8Array(0) });
    expect(await transport.bulkIn(13, { timeoutMs: 1000 })).toEqual({ status: 'stall', data: new Uint8Array(0) });
    expect(await transport.bulkOut(new Uint8Array(31), { timeoutMs: 1000 })).toEqual({ status: 'stall', bytesWritten: 0 });
    expect(await transport.bulkOut(new Uint8Array(31), { timeoutMs: 1000 })).toEqual({ status: 'stall', bytesWritten: 0 });
  });

  it('rejects a timed-out transfer with TimeoutError once the native transfer is no longer pending', async () => {
    vi.useFakeTimers();
    const { device, transport } = await openFake();
    device.inReplies.push('hang');
    const p = transport.bulkIn(512, { timeoutMs: 3000 });
    const settled = vi.fn();
    p.then(settled, settled);
    await vi.advanceTimersByTimeAsync(2999);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(device.pendingCount).toBe(0);
    // The device is not torn down: the next transfer on the same pipe works.
    device.inReplies.push(new Uint8Array(13));
    const next = transport.bulkIn(13, { timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1);
    expect((await next).status).toBe('ok');
  });

  it('clearHalt addresses the right endpoint', async () => {
    const { device, transport } = await openFake();
    await transport.clearHalt('in', { timeoutMs: 1000 });
    await transport.clearHalt('out', { timeoutMs: 1000 });
    expect(device.calls.slice(-2)).toEqual(['clearHalt(in,1)', 'clearHalt(out,2)']);
  });

  it('sends Get Max LUN and Bulk-Only Reset to the interface (BOT 1.0 §3.1, §3.2)', async () => {
    const device = new FakeUsbDevice({ interfaces: [{ interfaceNumber: 3, alternates: [{ bulk: [1, 2] }] }] });
    const { transport } = await openFake(device);
    device.controlInReplies.push(new Uint8Array([2]));
    expect(await transport.classRequest({ request: 'get-max-lun' }, { timeoutMs: 1000 })).toEqual({ status: 'ok', data: new Uint8Array([2]) });
    expect(await transport.classRequest({ request: 'bulk-only-reset' }, { timeoutMs: 1000 })).toEqual({ status: 'ok', data: new Uint8Array(0) });
    expect(device.setups).toEqual([
      { requestType: 'class', recipient: 'interface', request: 0xfe, value: 0, index: 3 },
      { requestType: 'class', recipient: 'interface', request: 0xff, value: 0, index: 3 },
    ]);
  });

  it('reports a stalled Get Max LUN as a result (single-LUN devices may stall it, BOT 1.0 §3.2)', async () => {
    const { device, transport } = await openFake();
    device.controlInReplies.push('stall');
    expect(await transport.classRequest({ request: 'get-max-lun' }, { timeoutMs: 1000 })).toEqual({ status: 'stall', data: new Uint8Array(0) });
  });

  it('rejects bad arguments before touching the device', async () => {
    const { device, transport } = await openFake();
    const before = device.calls.length;
    await expect(transport.bulkIn(-1, { timeoutMs: 1000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(transport.bulkIn(8, { timeoutMs: 1000, into: new Uint8Array(4) })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(transport.bulkOut(new Uint8Array(1), { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(device.calls.length).toBe(before);
  });

  it('portReset resets, detaches the re-bound kernel driver and claims again', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' }, interfaces: uasAndBot });
    const { transport } = await openFake(device, await linuxTree({ driver: 'usb-storage' }));
    device.calls.length = 0;
    await transport.portReset({ timeoutMs: 5000 });
    expect(device.calls).toEqual(['reset()', 'releaseInterface(0)', 'detachKernelDriver(0)', 'claimInterface(0)', 'selectAlternateInterface(0,0)']);
    expect(device.claimed.has(0)).toBe(true);
  });

  it('close waits for a transfer still pending (bounded by its native timeout) before releasing', async () => {
    vi.useFakeTimers();
    const { device, transport } = await openFake();
    device.inReplies.push('hang');
    const controller = new AbortController();
    const read = transport.bulkIn(512, { timeoutMs: 1000, signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const closing = transport.close();
    await vi.advanceTimersByTimeAsync(500);
    expect(device.calls).not.toContain('releaseInterface(0)');
    await vi.advanceTimersByTimeAsync(600);
    await closing;
    expect(await read).toBeInstanceOf(AbortError);
    expect(device.calls.slice(-2)).toEqual(['releaseInterface(0)', 'close()']);
  });

  it('close is idempotent and later calls reject with ClosedError', async () => {
    const { device, transport, usb } = await openFake();
    await Promise.all([transport.close(), transport.close()]);
    expect(device.calls.filter((c) => c === 'close()').length).toBe(1);
    expect(usb.listenerCount).toBe(0);
    await expect(transport.bulkIn(13, { timeoutMs: 1000 })).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('NodeUsbTransport abort', () => {
  it('does not submit when the signal already fired', async () => {
    const { device, transport } = await openFake();
    const controller = new AbortController();
    controller.abort();
    await expect(transport.bulkIn(13, { timeoutMs: 1000, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    expect(device.calls.some((c) => c.startsWith('transferIn'))).toBe(false);
  });

  it('settles an aborted transfer only when it is no longer pending', async () => {
    vi.useFakeTimers();
    const { device, transport } = await openFake();
    device.inReplies.push('hang');
    const controller = new AbortController();
    const p = transport.bulkIn(512, { timeoutMs: 2000, signal: controller.signal });
    const settled = vi.fn();
    p.then(settled, settled);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).not.toHaveBeenCalled();
    expect(device.pendingCount).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(device.pendingCount).toBe(0);
  });
});

describe('NodeUsbTransport disconnect', () => {
  it('rejects the in-flight transfer, fires onDisconnect, and fails later calls fast', async () => {
    const { usb, device, transport } = await openFake();
    device.inReplies.push('hang');
    const onDisconnect = vi.fn();
    transport.onDisconnect(onDisconnect);
    const p = transport.bulkIn(512, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5));
    usb.remove(device);
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    expect(onDisconnect).toHaveBeenCalledTimes(1);
    expect(transport.disconnected).toBe(true);
    await expect(transport.bulkOut(new Uint8Array(31), { timeoutMs: 1000 })).rejects.toBeInstanceOf(DisconnectedError);
    // A listener added after the fact still hears about it.
    const late = vi.fn();
    transport.onDisconnect(late);
    await Promise.resolve();
    expect(late).toHaveBeenCalledTimes(1);
    await transport.close();
  });

  it('with watchDisconnect: false does not subscribe, and still detects the unplug from the transfer status', async () => {
    const { usb, device, transport } = await openFake(new FakeUsbDevice(), { watchDisconnect: false });
    expect(usb.listenerCount).toBe(0);
    device.inReplies.push('hang');
    const p = transport.bulkIn(512, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5));
    usb.remove(device);
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    expect(transport.disconnected).toBe(true);
  });

  it('ignores disconnect events of other devices', async () => {
    const other = new FakeUsbDevice({ handle: 'other', address: 9 });
    const { usb, transport } = await openFake();
    usb.add(other);
    usb.remove(other);
    expect(transport.disconnected).toBe(false);
  });

  it('treats nusb Disconnected status as a disconnect even before the event', async () => {
    const { usb, device, transport } = await openFake();
    const onDisconnect = vi.fn();
    transport.onDisconnect(onDisconnect);
    device.inReplies.push('hang');
    const p = transport.bulkIn(512, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5));
    usb.remove(device, { emit: false });
    await expect(p).rejects.toBeInstanceOf(DisconnectedError);
    expect(onDisconnect).toHaveBeenCalledTimes(1);
  });

  it('"endpoint not found" becomes DisconnectedError when the event follows within the grace period', async () => {
    vi.useFakeTimers();
    const { usb, device, transport } = await openFake(new FakeUsbDevice(), { disconnectGraceMs: 500 });
    device.inReplies.push(new Error('transferIn error: endpoint not found'));
    const p = transport.bulkIn(13, { timeoutMs: 1000 });
    const result = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    for (const l of usb.listeners.disconnect) l({ device });
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toBeInstanceOf(DisconnectedError);
  });

  it('"endpoint not found" without a disconnect event is a TransportError after the grace period', async () => {
    vi.useFakeTimers();
    const { device, transport } = await openFake(new FakeUsbDevice(), { disconnectGraceMs: 500 });
    device.inReplies.push(new Error('transferIn error: endpoint not found'));
    const result = transport.bulkIn(13, { timeoutMs: 1000 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    const error = await result;
    expect(error).toBeInstanceOf(TransportError);
    expect(transport.disconnected).toBe(false);
  });

  it('close after unplug does not try to re-attach the driver', async () => {
    const device = new FakeUsbDevice({ kernelDrivers: { 0: 'usb-storage' } });
    const { usb, transport } = await openFake(device, await linuxTree({ driver: 'usb-storage' }));
    usb.remove(device);
    await transport.close();
    expect(device.calls).not.toContain('attachKernelDriver(0)');
  });
});

describe('openTransport', () => {
  it('finds a device by VID:PID:SERIAL and subscribes to its disconnect', async () => {
    const a = new FakeUsbDevice({ serialNumber: 'A', handle: 'a', address: 1 });
    const b = new FakeUsbDevice({ serialNumber: 'B', handle: 'b', address: 2 });
    const usb = new FakeUsb([a, b]);
    const transport = await openTransport('0781:5567:B', { usb, platform: 'darwin' });
    expect(transport.device).toBe(b);
    expect(usb.listeners.disconnect.size).toBe(1);
    await transport.close();
    expect(usb.listeners.disconnect.size).toBe(0);
  });

  it('refuses an ambiguous VID:PID and lists the candidates', async () => {
    const usb = new FakeUsb([new FakeUsbDevice({ serialNumber: 'A', handle: 'a' }), new FakeUsbDevice({ serialNumber: 'B', handle: 'b', address: 7 })]);
    await expect(openTransport('0781:5567', { usb, platform: 'darwin' })).rejects.toThrow(/2 devices match 0781:5567/);
  });

  it('reports a missing device as NotFoundError, and a bad id as InvalidArgumentError', async () => {
    const usb = new FakeUsb([]);
    await expect(openTransport('1234:5678', { usb, platform: 'darwin' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(openTransport('nonsense', { usb, platform: 'darwin' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openTransport(0, { usb, platform: 'darwin' })).rejects.toBeInstanceOf(NotFoundError);
  });
});
