/**
 * `pnpm bench`, usbfs part: what one command costs usbms over `UsbfsTransport` when the kernel costs
 * nothing. The device is opened through the tests' FakeUsbfsKernel (claim, discovery, the reaper
 * thread's seam); then a lean kernel of this file answers every ioctl the data path makes (the fake's
 * own instant mode logs every ioctl and makes an AbortController per URB, which cost more than what
 * is measured here): each bulk
 * URB completes inside SUBMITURB (as QEMU's emulated controllers often do under TCG) and
 * REAPURBNDELAY hands them back in order. So what is timed is usbms's own JavaScript (queue, BOT
 * engine, URB queue, the reaping turns) and Node's event loop, per command:
 *
 *   TEST UNIT READY (CBW + early status read: two URBs), READ(10) of 4 KiB (three URBs), and reads
 *   and writes of 16 x 120 KiB as one call (one pipeline job, three URBs per command), per command.
 *
 * Each row is the best of ROUNDS rounds of N commands (the machine is shared: the best round is the
 * least disturbed). JSON in test-output/bench/usbfs.json. Not a device benchmark: see bench/devices.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MscDevice } from '@usbms/core';
import { CBW_SIGNATURE, CSW_SIGNATURE } from '@usbms/core/internal';
import { SimulatedDevice } from '@usbms/core/sim';
import { makeLinuxTree } from '../src/testing/fake-sysfs.js';
import { FakeUsbDevice } from '../src/testing/fake-usb.js';
import { FakeUsbfsKernel } from '../src/testing/fake-usbfs.js';
import { Errno, UrbOffset, UsbfsIoctl } from '../src/usbfs/abi.js';
import type { UsbfsSys } from '../src/usbfs/sys.js';
import { UsbfsTransport } from '../src/usbfs/transport.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const N = Number(process.env.USBFS_BENCH_N ?? 4000);
const ROUNDS = Number(process.env.USBFS_BENCH_ROUNDS ?? 5);
const BLOCK = 512;
const COMMAND_BLOCKS = 240; // 120 KiB, Linux's command size below SuperSpeed
const CALL_COMMANDS = 16; // one pipeline job, as the CLI's calls

/**
 * The data path of a kernel that costs nothing, once `live`: bulk URBs complete inside SUBMITURB,
 * a minimal BOT device behind them (BOT 1.0 §5: a CBW, its data, a GOOD CSW with its tag). User
 * addresses are made up per ArrayBuffer (2^32 apart), so data lands in the caller's memory as usbfs
 * would put it there. Everything else (and everything before `live`) goes to `kernel`.
 */
class LeanKernel implements UsbfsSys {
  live = false;
  readonly #kernel: FakeUsbfsKernel;
  readonly #ids = new WeakMap<ArrayBufferLike, number>();
  readonly #buffers: ArrayBufferLike[] = [];
  readonly #completed: bigint[] = [];
  #tag = 0;
  #remaining = 0;

  constructor(kernel: FakeUsbfsKernel) {
    this.#kernel = kernel;
  }

  open(path: string): number {
    return this.#kernel.open(path);
  }

  close(fd: number): number {
    return this.#kernel.close(fd);
  }

  ioctlAddress(fd: number, request: number, address: bigint): number {
    return this.#kernel.ioctlAddress(fd, request, address);
  }

  startReaper(...args: Parameters<UsbfsSys['startReaper']>): ReturnType<UsbfsSys['startReaper']> {
    return this.#kernel.startReaper(...args);
  }

  addressOf(bytes: Uint8Array): bigint {
    if (!this.live) return this.#kernel.addressOf(bytes);
    let id = this.#ids.get(bytes.buffer);
    if (id === undefined) {
      this.#buffers.push(bytes.buffer);
      id = this.#buffers.length;
      this.#ids.set(bytes.buffer, id);
    }
    return BigInt(id * 2 ** 32 + bytes.byteOffset);
  }

  ioctl(fd: number, request: number, arg: Uint8Array | null): number {
    if (!this.live || arg === null) return this.#kernel.ioctl(fd, request, arg);
    const view = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    if (request === UsbfsIoctl.REAPURBNDELAY) {
      const address = this.#completed.shift();
      if (address === undefined) return -Errno.EAGAIN;
      view.setBigUint64(0, address, true);
      return 0;
    }
    if (request !== UsbfsIoctl.SUBMITURB) return this.#kernel.ioctl(fd, request, arg);
    const length = view.getInt32(UrbOffset.bufferLength, true);
    const at = Number(view.getBigUint64(UrbOffset.buffer, true));
    const data = new DataView(this.#buffers[Math.floor(at / 2 ** 32) - 1] as ArrayBuffer, at % 2 ** 32, length);
    let actual = length;
    if ((view.getUint8(UrbOffset.endpoint) & 0x80) === 0) {
      if (length === 31 && data.getUint32(0, true) === CBW_SIGNATURE) {
        this.#tag = data.getUint32(4, true);
        this.#remaining = data.getUint32(8, true);
      } else this.#remaining -= length;
    } else if (this.#remaining > 0) {
      actual = Math.min(length, this.#remaining);
      this.#remaining -= actual;
    } else {
      data.setUint32(0, CSW_SIGNATURE, true);
      data.setUint32(4, this.#tag, true);
      data.setUint32(8, 0, true);
      data.setUint8(12, 0);
      actual = 13;
    }
    view.setInt32(UrbOffset.status, 0, true);
    view.setInt32(UrbOffset.actualLength, actual, true);
    this.#completed.push(this.#kernel.addressOf(arg)); // the URB struct's own address, as the transport knows it
    return 0;
  }
}

const tree = await makeLinuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16', partitions: [] }] });
const kernel = new FakeUsbfsKernel(new SimulatedDevice({ luns: [{ blocks: 8192 }] }).transport, { driver: 'usb-storage' });
const sys = new LeanKernel(kernel);
const transport = await UsbfsTransport.open(new FakeUsbDevice({ vendorId: 0x1209, productId: 0x5553 }), {
  sys,
  platform: 'linux',
  linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot },
});
const device = await MscDevice.open(transport, { maxTransferBytes: COMMAND_BLOCKS * BLOCK });
await device.readCapacity();
sys.live = true;
const lu = device.lun(0);
const small = new Uint8Array(8 * BLOCK);
const big = new Uint8Array(CALL_COMMANDS * COMMAND_BLOCKS * BLOCK);

const cases = [
  { name: 'TEST UNIT READY', commands: 1, run: () => lu.testUnitReady() },
  { name: 'READ(10) 4 KiB into a caller buffer', commands: 1, run: () => lu.read(0, 8, { into: small }) },
  {
    name: `read of ${CALL_COMMANDS} x 120 KiB, one call (per command)`,
    commands: CALL_COMMANDS,
    run: () => lu.read(0, CALL_COMMANDS * COMMAND_BLOCKS, { into: big }),
  },
  { name: `write of ${CALL_COMMANDS} x 120 KiB, one call (per command)`, commands: CALL_COMMANDS, run: () => lu.write(0, big) },
] as const;

// First use: TEST UNIT READY from the first command after open, timed per window of FIRST_WINDOW commands.
// V8 runs a function interpreted until it has run a while, and optimizes it on a background thread; the
// rows after this are steady state (their first round warms up).
const FIRST_WINDOW = 250;
const firstUse: number[] = [];
for (let w = 0; w < 8; w++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < FIRST_WINDOW; i++) await lu.testUnitReady();
  firstUse.push(Number(process.hrtime.bigint() - start) / 1000 / FIRST_WINDOW);
}

const rows: { name: string; usPerCommand: number; rounds: number[] }[] = [];
for (const { name, commands, run } of cases) {
  const calls = Math.max(1, Math.round(N / commands));
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await run();
    const us = Number(process.hrtime.bigint() - start) / 1000 / (calls * commands);
    if (r > 0) rounds.push(us); // round 0 warms up
  }
  rows.push({ name, usPerCommand: Math.min(...rounds), rounds });
}
await device.close();
await tree.cleanup();

console.log(`\nusbms over UsbfsTransport, a kernel that costs nothing (URBs complete inside SUBMITURB); best of ${ROUNDS} rounds`);
console.log(`  TEST UNIT READY from open, µs per command in windows of ${FIRST_WINDOW}: ${firstUse.map((us) => us.toFixed(2)).join(' ')}`);
for (const r of rows) console.log(`  ${r.name.padEnd(52)} ${r.usPerCommand.toFixed(2).padStart(7)} µs per command`);
const out = join(ROOT, 'test-output', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'usbfs.json'),
  `${JSON.stringify({ commandsPerRound: N, rounds: ROUNDS, firstUse: { window: FIRST_WINDOW, usPerCommand: firstUse }, rows }, null, 2)}\n`,
);
