// Pipelined block I/O over usbfs (BotEngine.pipeline, MscDevice.runRawMany): each next command's
// CBW is chained behind the status read of the one before and goes from the reaping turn that saw
// that CSW pass in full (BOT 1.0 §5: still one command at a time), never after one that did not.
import { AbortError, DisconnectedError, MscDevice, PartialWriteError, read10, ScsiCheckConditionError, TimeoutError } from '@usbms/core';
import { CBW_LENGTH } from '@usbms/core/internal';
import { SimulatedDevice } from '@usbms/core/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeLinuxTree, makeLinuxTree } from '../testing/fake-sysfs.js';
import { FakeUsbDevice } from '../testing/fake-usb.js';
import { FakeUsbfsKernel } from '../testing/fake-usbfs.js';
import { UrbOffset, UsbfsIoctl } from './abi.js';
import { UsbfsTransport } from './transport.js';

const trees: FakeLinuxTree[] = [];
afterEach(async () => {
  for (const tree of trees.splice(0)) await tree.cleanup();
});

const BLOCK = 512;
/** Two blocks per command: a 16-block read or write is eight commands. */
const MAX_TRANSFER = 2 * BLOCK;

async function setup() {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048 }] });
  const kernel = new FakeUsbfsKernel(sim.transport, { driver: 'usb-storage' });
  const usbDevice = new FakeUsbDevice({ vendorId: 0x1209, productId: 0x5553 });
  const tree = await makeLinuxTree({ driver: 'usb-storage', disks: [{ name: 'sdb', dev: '8:16', partitions: [] }] });
  trees.push(tree);
  const transport = await UsbfsTransport.open(usbDevice, { sys: kernel, platform: 'linux', linuxRoots: { sysRoot: tree.sysRoot, procRoot: tree.procRoot } });
  // What the engine asked of the transport, in the kernel's own order log: "call out 31", "call in 13".
  const bulkOut = transport.bulkOut.bind(transport);
  const bulkIn = transport.bulkIn.bind(transport);
  transport.bulkOut = (data, options) => {
    kernel.order.push(`call out ${data.length}`);
    return bulkOut(data, options);
  };
  transport.bulkIn = (length, options) => {
    kernel.order.push(`call in ${length}`);
    return bulkIn(length, options);
  };
  const classRequest = transport.classRequest.bind(transport);
  transport.classRequest = (request, options) => {
    kernel.order.push(`call ${request.request}`);
    return classRequest(request, options);
  };
  const device = await MscDevice.open(transport, { maxTransferBytes: MAX_TRANSFER });
  await device.readCapacity();
  return { sim, kernel, device };
}

const pattern = (blocks: number, seed: number): Uint8Array => new Uint8Array(blocks * BLOCK).map((_, i) => (i * 7 + seed) & 0xff);

/** READ(10)/WRITE(10) LBAs the device saw, in order (from its `from`th command on). */
const lbasSeen = (sim: SimulatedDevice, opcode: number, from = 0): number[] =>
  sim.log
    .slice(from)
    .filter((r) => r.cdb[0] === opcode)
    .map((r) => ((r.cdb[2] ?? 0) << 24) | ((r.cdb[3] ?? 0) << 16) | ((r.cdb[4] ?? 0) << 8) | (r.cdb[5] ?? 0));

describe('pipelined block I/O over usbfs', () => {
  it('a read of eight commands: every stage handed over before the first CBW ends; each next CBW goes right after the status before it', async () => {
    const { sim, kernel, device } = await setup();
    const data = pattern(16, 3);
    await device.write(40, data);
    kernel.order.length = 0;
    const into = new Uint8Array(16 * BLOCK);
    expect(await device.read(40, 16, { into })).toBe(into);
    expect(into).toEqual(data);
    const order = kernel.order;
    // All eight commands' CBW, data and status requests came from the engine before the first URB ended.
    expect(order.filter((l) => l === 'call out 31')).toHaveLength(8);
    expect(order.lastIndexOf('call in 13')).toBeLessThan(order.indexOf('done ep=0x2'));
    // The first CBW went out before the second command was handed over: the device starts at once.
    expect(order.indexOf('submit ep=0x2 len=31')).toBeLessThan(order.indexOf('call out 31', order.indexOf('call out 31') + 1));
    // On the wire, one command at a time: CBW, data, status; the next CBW only after that status.
    const wire = order.filter((l) => !l.startsWith('call'));
    const oneCommand = ['submit ep=0x2 len=31', 'done ep=0x2', `submit ep=0x81 len=${MAX_TRANSFER}`, 'done ep=0x81', 'submit ep=0x81 len=13', 'done ep=0x81'];
    expect(wire).toEqual(Array.from({ length: 8 }, () => oneCommand).flat());
    expect(lbasSeen(sim, 0x28)).toEqual([40, 42, 44, 46, 48, 50, 52, 54]);
    expect(kernel.violations).toEqual([]);
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('a write of eight commands: CBW, data-out, status, chained the same way; every byte is on the device', async () => {
    const { sim, kernel, device } = await setup();
    const data = pattern(16, 11);
    kernel.order.length = 0;
    await device.write(100, data);
    const wire = kernel.order.filter((l) => !l.startsWith('call'));
    expect(wire.filter((l) => l === 'submit ep=0x2 len=31')).toHaveLength(8);
    // After the first command, each CBW follows the status read of the one before, and its data-out
    // is queued right behind it on the same pipe (submitted with it, before the CBW ends).
    for (let i = 1; i < wire.length; i++) if (wire[i] === 'submit ep=0x2 len=31') expect(wire[i - 1]).toBe('done ep=0x81');
    for (let i = 0; i < wire.length; i++) if (wire[i] === 'submit ep=0x2 len=31') expect(wire[i + 1]).toBe(`submit ep=0x2 len=${MAX_TRANSFER}`);
    expect(lbasSeen(sim, 0x2a)).toEqual([100, 102, 104, 106, 108, 110, 112, 114]);
    expect(await device.read(100, 16)).toEqual(data);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('CHECK CONDITION mid-pipeline (MEDIUM ERROR at LBA 46): nothing after that command is sent; REQUEST SENSE follows it; the read fails with the sense', async () => {
    const { sim, kernel, device } = await setup();
    sim.inject({ kind: 'medium-error', lba: 46 });
    const error = await device.read(40, 16).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as ScsiCheckConditionError).message).toMatch(/MEDIUM ERROR|UNRECOVERED READ ERROR/i);
    expect(lbasSeen(sim, 0x28)).toEqual([40, 42, 44, 46]);
    const opcodes = sim.log.map((r) => r.cdb[0]);
    expect(opcodes.slice(opcodes.lastIndexOf(0x28))).toEqual([0x28, 0x03]);
    expect(kernel.inflight).toBe(0);
    // The device and the queue are in a known state: the next read goes through whole.
    expect(await device.read(48, 16)).toHaveLength(16 * BLOCK);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('a UNIT ATTENTION mid-pipeline is retried by the retry policy and the rest of the read follows', async () => {
    const { sim, device } = await setup();
    const data = pattern(16, 5);
    await device.write(200, data);
    let seen = 0;
    const off = sim.onCommand((record) => {
      // Armed as the third READ ends: it hits the fourth, a command already chained behind it.
      if (record.cdb[0] === 0x28 && ++seen === 3) sim.inject({ kind: 'unit-attention', trigger: 'now' });
    });
    expect(await device.read(200, 16)).toEqual(data);
    off();
    expect(lbasSeen(sim, 0x28).slice(-9)).toEqual([200, 202, 204, 206, 206, 208, 210, 212, 214]);
    await device.close();
  });

  it('a stalled data-in mid-pipeline (BOT 1.0 §6.7.2): the later commands never go; the failing one recovers; the read fails whole-or-nothing', async () => {
    const { sim, kernel, device } = await setup();
    let seen = 0;
    const off = sim.onCommand((record) => {
      if (record.cdb[0] === 0x28 && ++seen === 2) sim.inject({ kind: 'stall-data-in', afterBytes: 512, opcode: 0x28 });
    });
    const error = await device.read(0, 16).catch((e: unknown) => e);
    off();
    expect(error).toBeInstanceOf(Error);
    // Commands 1 and 2 passed; command 3 stalled after one block; nothing after it went.
    expect(lbasSeen(sim, 0x28).slice(0, 3)).toEqual([0, 2, 4]);
    expect(lbasSeen(sim, 0x28)).not.toContain(6);
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    expect(await device.read(0, 16)).toHaveLength(16 * BLOCK);
    await device.close();
  });

  it('a write that fails mid-pipeline reports how far it got (PartialWriteError): the commands before it are on the device', async () => {
    const { sim, kernel, device } = await setup();
    sim.inject({ kind: 'medium-error', lba: 306, writes: true });
    const data = pattern(16, 9);
    kernel.order.length = 0;
    const error = await device.write(300, data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialWriteError);
    expect((error as PartialWriteError).details).toMatchObject({ lba: 300, blocks: 16, blocksWritten: 6 });
    expect(lbasSeen(sim, 0x2a)).toEqual([300, 302, 304, 306]);
    // The data-out of a command whose CBW never went was never submitted either: four data stages.
    expect(kernel.order.filter((l) => l === `submit ep=0x2 len=${MAX_TRANSFER}`)).toHaveLength(4);
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    expect(await device.read(300, 6)).toEqual(data.subarray(0, 6 * BLOCK));
    await device.close();
  });

  it('an abort mid-pipeline settles the read (AbortError) with nothing left in flight, and the next command succeeds', async () => {
    const { sim, kernel, device } = await setup();
    const controller = new AbortController();
    let seen = 0;
    const off = sim.onCommand((record) => {
      if (record.cdb[0] === 0x28 && ++seen === 3) controller.abort();
    });
    const error = await device.read(0, 16, { signal: controller.signal }).catch((e: unknown) => e);
    off();
    expect(error).toBeInstanceOf(AbortError);
    // The caller is told at once; the queue job ends the command on the wire behind it (recovery), then the next job runs.
    await device.testUnitReady();
    expect(kernel.inflight).toBe(0);
    expect(lbasSeen(sim, 0x28).length).toBeLessThan(8);
    expect(kernel.violations).toEqual([]);
    expect(await device.read(0, 16)).toHaveLength(16 * BLOCK);
    await device.close();
  });

  it.each([
    ['an abort', 'one command', 2],
    ['an abort', 'a pipelined job', 16],
    ['a timeout', 'one command', 2],
    ['a timeout', 'a pipelined job', 16],
  ])("%s while a data-in fills the caller's buffer (%s): the read rejects once that transfer ended, never writing the buffer after", async (how, _, blocks) => {
    const { kernel, device } = await setup();
    // The first data-in stays on the wire until discarded, and ends 30 ms after the discard; what had
    // arrived by then is copied into the caller's buffer as the kernel reaps it (usbfs: at REAPURB).
    const arrived = new Uint8Array(MAX_TRANSFER).fill(0xaa);
    kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true, unlinkMs: 30, data: arrived }]);
    kernel.order.length = 0;
    const into = new Uint8Array(blocks * BLOCK);
    const controller = new AbortController();
    const timeout = how === 'a timeout';
    if (!timeout) setTimeout(() => controller.abort(), 5);
    const options = timeout ? { into, timeoutMs: 40 } : { into, signal: controller.signal };
    const error = await device.read(0, blocks, options).catch((e: unknown) => e);
    kernel.order.push('rejected');
    const atRejection = into.slice();
    expect(error).toBeInstanceOf(timeout ? TimeoutError : AbortError);
    expect(atRejection.subarray(0, MAX_TRANSFER)).toEqual(arrived); // landed before the caller was told
    // The cancelled data-in (the first IN URB of the read) ended before the caller was told.
    expect(kernel.order.slice(0, kernel.order.indexOf('rejected'))).toContain('done ep=0x81');
    await device.testUnitReady(); // after the job's reset recovery
    // A caller who gave up (an abort, or the queue's time limit of a one-command job) is told before
    // reset recovery starts. A pipelined job's first command hits its own, shorter limit in the
    // engine: the job fails and its caller is told once recovery has ended, as for any failed job.
    const callerGaveUp = !timeout || blocks * BLOCK <= MAX_TRANSFER;
    const recoveryAfter = kernel.order.slice(kernel.order.indexOf('rejected')).includes('call bulk-only-reset');
    expect(recoveryAfter).toBe(callerGaveUp);
    expect(into).toEqual(atRejection);
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    expect(await device.read(0, blocks)).toHaveLength(blocks * BLOCK);
    await device.close();
  });

  it.each([
    ['pipelined', 16, false],
    ['a single command', 2, false],
    ['commands one at a time while tracing', 16, true],
  ])(
    'an abort of a read into a buffer of its own (no caller buffer) rejects at once, before the data-in it cancels has ended (%s)',
    async (_, blocks, tracing) => {
      const { kernel, device } = await setup();
      kernel.urbOutcomes.set(0x81, [{ status: 0, hang: true, unlinkMs: 30 }]);
      const off = tracing ? device.onTrace(() => undefined) : () => undefined;
      kernel.order.length = 0;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 5);
      const error = await device.read(0, blocks, { signal: controller.signal }).catch((e: unknown) => e);
      kernel.order.push('rejected');
      expect(error).toBeInstanceOf(AbortError);
      await device.testUnitReady(); // the job ended the data-in, then ran reset recovery
      off();
      // The cancelled data-in ended after the caller was told.
      expect(kernel.order.slice(0, kernel.order.indexOf('rejected'))).not.toContain('done ep=0x81');
      expect(kernel.order.slice(kernel.order.indexOf('rejected'))).toContain('done ep=0x81');
      expect(kernel.inflight).toBe(0);
      expect(await device.read(0, blocks)).toHaveLength(blocks * BLOCK);
      await device.close();
    },
  );

  it('an unplug mid-pipeline rejects the read with DisconnectedError at once, nothing left in flight', async () => {
    const { sim, kernel, device } = await setup();
    let seen = 0;
    const off = sim.onCommand((record) => {
      if (record.cdb[0] === 0x28 && ++seen === 2) kernel.unplug();
    });
    const error = await device.read(0, 16).catch((e: unknown) => e);
    off();
    expect(error).toBeInstanceOf(DisconnectedError);
    expect(kernel.inflight).toBe(0);
  });

  it('while tracing, commands go one at a time (a capture shows each exchange whole)', async () => {
    const { kernel, device } = await setup();
    const events: string[] = [];
    const off = device.onTrace((e) => events.push(e.type));
    kernel.order.length = 0;
    await device.read(0, 8);
    off();
    // Each CBW is asked for only after the command before it ended.
    const calls = kernel.order.filter((l) => l === 'call out 31' || l === 'done ep=0x81');
    expect(calls.slice(0, 3)).toEqual(['call out 31', 'done ep=0x81', 'done ep=0x81']);
    expect(events.filter((t) => t === 'command-start')).toHaveLength(4);
    await device.close();
  });
});

describe('pipelined block I/O over usbfs: transfers that have completed by the time they are submitted (QEMU controllers under TCG)', () => {
  /** Calls `then` once, from inside the reaping turn that submits the `nth` CBW. */
  function atCbw(kernel: FakeUsbfsKernel, nth: number, then: () => void): () => number {
    const ioctl = kernel.ioctl.bind(kernel);
    let cbws = 0;
    kernel.ioctl = (fd, request, arg) => {
      const rc = ioctl(fd, request, arg);
      if (
        request === UsbfsIoctl.SUBMITURB &&
        arg !== null &&
        new DataView(arg.buffer, arg.byteOffset).getInt32(UrbOffset.bufferLength, true) === CBW_LENGTH &&
        ++cbws === nth
      )
        then();
      return rc;
    };
    return () => cbws;
  }

  it('the main thread still yields every few commands: a timer set during a job fires before the job ends', async () => {
    const { kernel, device } = await setup();
    kernel.instantBulk = true;
    kernel.instantBulkMs = 0.25; // each SUBMITURB takes this long (the whole job ~12 ms)
    let cbwsAtTimer = -1;
    const cbws = atCbw(kernel, 2, () => setTimeout(() => (cbwsAtTimer = cbws()), 0));
    const data = await device.read(0, 32); // sixteen commands: one job
    expect(data.subarray(0, 4)).toEqual(new Uint8Array([0, 1, 2, 3]));
    expect(cbws()).toBe(16);
    expect(cbwsAtTimer).toBeGreaterThan(1);
    expect(cbwsAtTimer).toBeLessThan(16);
    await device.close();
  });

  it('so an abort from a timer cuts the job: no more commands go, and the next command succeeds', async () => {
    const { kernel, device } = await setup();
    kernel.instantBulk = true;
    kernel.instantBulkMs = 0.25;
    const controller = new AbortController();
    const cbws = atCbw(kernel, 2, () => setTimeout(() => controller.abort(), 0));
    const error = await device.read(0, 32, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    const sent = cbws();
    expect(sent).toBeLessThan(16);
    await device.testUnitReady();
    expect(cbws()).toBe(sent + 1);
    expect(kernel.inflight).toBe(0);
    await device.close();
  });
});

describe('pipelined block I/O over usbfs: more than one job (over 16 commands)', () => {
  it('a read of 40 commands (three jobs) comes back whole, in order, one command at a time on the wire', async () => {
    const { sim, kernel, device } = await setup();
    const data = pattern(80, 13);
    await device.write(400, data);
    const from = sim.log.length;
    expect(await device.read(400, 80)).toEqual(data);
    expect(lbasSeen(sim, 0x28, from)).toEqual(Array.from({ length: 40 }, (_, i) => 400 + 2 * i));
    expect(kernel.violations).toEqual([]);
    await device.close();
    expect(kernel.inflight).toBe(0);
  });

  it('another caller waits at most one job: a TEST UNIT READY asked for during the first job goes before the second', async () => {
    const { sim, device } = await setup();
    const from = sim.log.length;
    let tur: Promise<void> | undefined;
    let seen = 0;
    const off = sim.onCommand((record) => {
      // Asked for while the first job runs: the second job is queued only once the first ended.
      if (record.cdb[0] === 0x28 && ++seen === 2) tur = device.testUnitReady();
    });
    await device.read(0, 80);
    off();
    await tur;
    const opcodes = sim.log.slice(from).map((r) => r.cdb[0]);
    expect(opcodes.indexOf(0x00)).toBe(16);
    expect(opcodes.filter((o) => o === 0x28)).toHaveLength(40);
    await device.close();
  });

  it('a write failing in the first job (MEDIUM ERROR at LBA 320): nothing of the second job is sent; PartialWriteError counts 20 blocks', async () => {
    const { sim, kernel, device } = await setup();
    sim.inject({ kind: 'medium-error', lba: 320, writes: true });
    const error = await device.write(300, pattern(80, 17)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialWriteError);
    expect((error as PartialWriteError).details).toMatchObject({ lba: 300, blocks: 80, blocksWritten: 20 });
    expect(lbasSeen(sim, 0x2a)).toEqual(Array.from({ length: 11 }, (_, i) => 300 + 2 * i));
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    // The queue goes on: the next command runs at once.
    await device.testUnitReady();
    await device.close();
  });

  it('a read failing in the second job (MEDIUM ERROR at LBA 40): nothing of the third job is sent', async () => {
    const { sim, kernel, device } = await setup();
    sim.inject({ kind: 'medium-error', lba: 40 });
    const from = sim.log.length;
    const error = await device.read(0, 80).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect(lbasSeen(sim, 0x28, from)).toEqual(Array.from({ length: 21 }, (_, i) => 2 * i));
    const opcodes = sim.log.slice(from).map((r) => r.cdb[0]);
    expect(opcodes.slice(opcodes.lastIndexOf(0x28))).toEqual([0x28, 0x03]);
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    await device.close();
  });

  it('an abort in the first job: the read rejects, no later job sends, the buffer is not written after it settled', async () => {
    const { sim, kernel, device } = await setup();
    const controller = new AbortController();
    let seen = 0;
    const off = sim.onCommand((record) => {
      if (record.cdb[0] === 0x28 && ++seen === 3) controller.abort();
    });
    const into = new Uint8Array(80 * BLOCK);
    const error = await device.read(0, 80, { into, signal: controller.signal }).catch((e: unknown) => e);
    off();
    expect(error).toBeInstanceOf(AbortError);
    const settled = into.slice();
    await device.testUnitReady();
    expect(into).toEqual(settled);
    expect(lbasSeen(sim, 0x28).length).toBeLessThan(16);
    expect(kernel.inflight).toBe(0);
    expect(kernel.violations).toEqual([]);
    expect(await device.read(0, 80)).toHaveLength(80 * BLOCK);
    await device.close();
  });
  it('when the caller stops after a job passed in full, no READ follows', async () => {
    const { sim, kernel, device } = await setup();
    const from = sim.log.length;
    const stop = new Error('caller stops');
    const error = await device
      .runRawMany(
        40,
        (i) => ({ command: read10({ lba: 2 * i, blocks: 2, blockSize: BLOCK }) }),
        {},
        (i) => {
          if (i === 15) throw stop;
        },
      )
      .catch((e: unknown) => e);
    expect(error).toBe(stop);
    const reads = lbasSeen(sim, 0x28, from).length;
    await device.testUnitReady();
    expect(lbasSeen(sim, 0x28, from)).toHaveLength(reads);
    expect(reads).toBe(16);
    expect(kernel.inflight).toBe(0);
    await device.close();
  });
});
