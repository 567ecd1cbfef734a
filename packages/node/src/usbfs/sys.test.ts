import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsbfsIoctl } from './abi.js';
import { loadUsbfsSys, reaperThreads } from './sys.js';

// The real system calls, where they exist (the CI machines are Linux x64). No USB device
// is needed: the reaper thread is started on a file that is not a usbfs node.
describe('loadUsbfsSys (koffi + libc)', () => {
  const load = loadUsbfsSys();
  const supported = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

  it('loads on Linux x64/arm64 with the declared layouts, and says why not elsewhere', () => {
    if (supported) expect(load).toMatchObject({ ok: true });
    else expect(load).toMatchObject({ ok: false, reason: expect.any(String) });
  });

  it('addressOf gives the address of the bytes, offset included, for on-heap and off-heap arrays', () => {
    if (!load.ok) return expect(supported).toBe(false);
    const big = new Uint8Array(4096);
    expect(load.sys.addressOf(big.subarray(100)) - load.sys.addressOf(big)).toBe(100n);
    const small = new Uint8Array(8);
    const a = load.sys.addressOf(small);
    expect(load.sys.addressOf(small)).toBe(a);
  });

  it('open reports errno; the reaper thread runs blocking calls, reports a non-usbfs fd as gone, and stops promptly', async () => {
    if (!load.ok) return expect(supported).toBe(false);
    expect(load.sys.open('/nonexistent/usbfs')).toBe(-2); // ENOENT
    const fd = openSync('/dev/null', 'r+');
    try {
      const events: unknown[] = [];
      const reaper = load.sys.startReaper(fd, new Uint8Array(new SharedArrayBuffer(56)), (event) => events.push(event));
      const reply = await reaper.call(UsbfsIoctl.GET_CAPABILITIES, new Uint8Array(4));
      expect(reply.rc).toBe(-25); // ENOTTY: /dev/null is not a usbfs node
      const started = Date.now();
      await reaper.stop();
      expect(Date.now() - started).toBeLessThan(1500);
      expect(events.length).toBeGreaterThan(0);
    } finally {
      closeSync(fd);
    }
  });

  it('a reaper thread started ahead of need is the one the next startReaper takes; an unused one is stopped at release', async () => {
    if (!load.ok) return expect(supported).toBe(false);
    const prestart = load.sys.prestartReaper;
    if (prestart === undefined) throw new Error('the real system calls prestart their reaper thread');
    const fd = openSync('/dev/null', 'r+');
    try {
      const before = { ...reaperThreads };
      // Two opens ask (an openTransport and the UsbfsTransport.open inside it): one thread.
      const outer = prestart();
      const inner = prestart();
      const reaper = load.sys.startReaper(fd, new Uint8Array(new SharedArrayBuffer(56)), () => undefined);
      inner();
      outer();
      outer(); // a second release is a no-op
      expect(reaperThreads).toEqual({ started: before.started + 1, unused: before.unused });
      // Released after it was taken: still serving.
      expect((await reaper.call(UsbfsIoctl.GET_CAPABILITIES, new Uint8Array(4))).rc).toBe(-25);
      await reaper.stop();
      // Nobody takes it: stopped at the last release, and the next startReaper starts its own.
      const unused = prestart();
      unused();
      expect(reaperThreads).toEqual({ started: before.started + 2, unused: before.unused + 1 });
      const own = load.sys.startReaper(fd, new Uint8Array(new SharedArrayBuffer(56)), () => undefined);
      expect(reaperThreads.started).toBe(before.started + 3);
      // Stopped while it may still be loading koffi: resolves promptly all the same.
      const started = Date.now();
      await own.stop();
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      closeSync(fd);
    }
  });

  it('a process that never stops its reaper still exits at once (the thread blocked in poll(2) is woken at exit)', () => {
    if (!load.ok) return expect(supported).toBe(false);
    const sysModule = fileURLToPath(new URL('./sys.ts', import.meta.url));
    const code = `
      const { openSync } = await import('node:fs');
      const { loadUsbfsSys } = await import(${JSON.stringify(sysModule)});
      const load = loadUsbfsSys();
      const reaper = load.sys.startReaper(openSync('/dev/null', 'r+'), new Uint8Array(new SharedArrayBuffer(56)), () => undefined);
      await reaper.call(0, null);
      console.log('started');
      // A second reaper, stopped: stop() itself keeps the process alive until the thread is gone.
      const second = load.sys.startReaper(openSync('/dev/null', 'r+'), new Uint8Array(new SharedArrayBuffer(56)), () => undefined);
      await second.stop();
      console.log('stopped');
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect({ out: child.stdout, err: child.stderr, status: child.status, error: String(child.error) }).toMatchObject({
      out: expect.stringContaining('started'),
    });
    expect(child.stdout).toContain('stopped');
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
