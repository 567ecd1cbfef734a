import { describe, expect, it } from 'vitest';
import { acmeReadFirmwareVersion, acmeWriteConfigPage } from '../../../docs/examples/vendor-commands.js';
import { MscDevice } from './device.js';
import {
  AbortError,
  ClosedError,
  DisconnectedError,
  InvalidArgumentError,
  PartialWriteError,
  ReadOnlyError,
  ScsiCheckConditionError,
  TimeoutError,
  VerifyMismatchError,
  WriteProtectedError,
} from './errors.js';
import { RamStore, SimulatedDevice, type SimulatedDeviceOptions } from './sim/index.js';
import type { TraceEvent } from './trace.js';
import type { MscTransport } from './transport.js';

function pattern(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function openSim(options: SimulatedDeviceOptions = {}, deviceOptions: Parameters<typeof MscDevice.open>[1] = {}) {
  const sim = new SimulatedDevice(options);
  const device = await MscDevice.open(sim.transport, deviceOptions);
  return { sim, device };
}

describe('MscDevice: LUN discovery', () => {
  it('sends Get Max LUN, then one 36-byte INQUIRY per LUN and nothing else', async () => {
    const { sim, device } = await openSim({
      luns: [
        { vendor: 'ACME', product: 'Card Reader SD', blocks: 100 },
        { vendor: 'ACME', product: 'Card Reader CF', mediumPresent: false },
      ],
    });
    expect(device.maxLun).toBe(1);
    expect(device.luns.map((lu) => lu.inquiry?.product)).toEqual(['Card Reader SD', 'Card Reader CF']);
    expect(sim.log.map((c) => [c.opcode, c.lun])).toEqual([
      [0x12, 0],
      [0x12, 1],
    ]);
    // The empty slot opens; its capacity says why it cannot be read.
    const error = await device
      .lun(1)
      .readCapacity()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as ScsiCheckConditionError).sense?.asc).toBe(0x3a);
    expect((error as Error).message).toMatch(/NOT READY: Medium not present/);
    sim.assertClean();
  });

  it('pads every CDB to 12 bytes for UFI/SFF-8070i/ATAPI-style devices', async () => {
    const { sim, device } = await openSim({ info: { interfaceSubclass: 0x05 } });
    expect(device.quirks.padCdbTo12).toBe(true);
    await device.lun(0).testUnitReady();
    await device.lun(0).read(0, 1);
    await device.execute({ cdb: new Uint8Array([0xc7, 0, 0, 0, 0, 0]), direction: 'none' }); // CHECK CONDITION -> REQUEST SENSE
    expect(sim.log.map((c) => c.cdb.length)).toEqual(sim.log.map(() => 12));
    expect(sim.log.map((c) => c.opcode)).toEqual([0x12, 0x00, 0x25, 0x28, 0xc7, 0x03]);
  });

  it('treats a stalled Get Max LUN as a single LUN', async () => {
    const { device } = await openSim({ getMaxLun: 'stall' });
    expect(device.maxLun).toBe(0);
    expect(device.luns).toHaveLength(1);
    expect(() => device.lun(1)).toThrow(InvalidArgumentError);
  });
});

describe('MscDevice: typed commands on the device', () => {
  it('sends them to the LUN named in the options', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 100 }, { blocks: 200, product: 'Second' }] });
    expect(await device.readCapacity({ lun: 1 })).toMatchObject({ blocks: 200 });
    expect(await device.readCapacity()).toMatchObject({ blocks: 100 });
    expect((await device.inquiry({ lun: 1 })).product).toBe('Second');
    await device.write(3, pattern(512, 4), { lun: 1 });
    expect(await device.read(3, 1, { lun: 1 })).toEqual(pattern(512, 4));
    await device.flush({ lun: 1 });
    await device.testUnitReady({ lun: 1 });
    expect(sim.log.slice(-4).map((c) => [c.opcode, c.lun])).toEqual([
      [0x2a, 1],
      [0x28, 1],
      [0x35, 1],
      [0x00, 1],
    ]);
    await expect(device.readCapacity({ lun: 2 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('MscDevice: block I/O', () => {
  it.each([512, 2048, 4096])('round-trips data with %i-byte blocks across chunk boundaries and at the last block', async (blockSize) => {
    const blocks = 64;
    const { sim, device } = await openSim({ luns: [{ blockSize, blocks }] }, { maxTransferBytes: blockSize * 3 });
    const lu = device.lun(0);
    const capacity = await lu.readCapacity();
    expect(capacity).toEqual({ lastLba: blocks - 1, blockSize, blocks, bytes: blocks * blockSize });
    const data = pattern(blockSize * 10, blockSize);
    await lu.write(blocks - 10, data);
    expect(await lu.read(blocks - 10, 10)).toEqual(data);
    // 10 blocks in chunks of 3: 4 WRITE(10) + 4 READ(10).
    expect(sim.log.filter((c) => c.opcode === 0x2a)).toHaveLength(4);
    expect(sim.log.filter((c) => c.opcode === 0x28)).toHaveLength(4);
    sim.assertClean();
  });

  it("sizes commands as Linux usb-storage does by default (240 sectors below SuperSpeed, 2048 at SuperSpeed); a quirk caps it, the caller's option decides", async () => {
    const sizeAt = async (speed: 'high' | 'super' | 'super-plus', deviceOptions: Parameters<typeof MscDevice.open>[1] = {}, quirks = {}) => {
      const { device } = await openSim({ luns: [{ blocks: 4096 }], info: { speed } }, { ...deviceOptions, quirkRules: [{ vendorId: 0x1209, quirks }] });
      return device.maxTransferBytes;
    };
    expect(await sizeAt('high')).toBe(240 * 512);
    expect(await sizeAt('super')).toBe(2048 * 512);
    expect(await sizeAt('super-plus')).toBe(2048 * 512);
    // Linux US_FL_MAX_SECTORS_64: a quirk lowers it.
    expect(await sizeAt('super', {}, { maxTransferBytes: 64 * 512 })).toBe(64 * 512);
    // The caller's explicit size wins over both (larger on a device known to take it).
    expect(await sizeAt('high', { maxTransferBytes: 4 << 20 })).toBe(4 << 20);
    // A READ spans commands of exactly that size.
    const { sim, device } = await openSim({ luns: [{ blocks: 1024 }], info: { speed: 'high' } });
    await device.lun(0).read(0, 600);
    expect(sim.log.filter((c) => c.opcode === 0x28).map((c) => c.hostLength)).toEqual([240 * 512, 240 * 512, 120 * 512]);
  });

  it('keeps commands within the Block Limits MAXIMUM TRANSFER LENGTH once known', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 1000, maxTransferLength: 16 }] }, { readBlockLimits: true, maxTransferBytes: 1 << 20 });
    const lu = device.lun(0);
    const data = pattern(512 * 40, 3);
    await lu.write(0, data);
    expect(await lu.read(0, 40)).toEqual(data);
    // 40 blocks at most 16 per command: 3 WRITE(10) and 3 READ(10); the simulator refuses bigger ones.
    expect(sim.log.filter((c) => c.opcode === 0x2a).map((c) => c.hostLength)).toEqual([16 * 512, 16 * 512, 8 * 512]);
    expect(sim.log.filter((c) => c.opcode === 0x28)).toHaveLength(3);
  });

  it('a one-command read without a caller buffer returns the buffer the transport filled (no second allocation or copy)', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 256 }] });
    const returned: Uint8Array[] = [];
    const inner = sim.transport;
    const transport: MscTransport = {
      ...inner,
      info: inner.info,
      bulkIn: async (length, options) => {
        const r = await inner.bulkIn(length, options);
        if (length > 13) returned.push(r.data);
        return r;
      },
    };
    const device = await MscDevice.open(transport, { maxTransferBytes: 16 * 512 });
    const lu = device.lun(0);
    const data = pattern(8 * 512, 9);
    await lu.write(4, data);
    returned.length = 0;
    const back = await lu.read(4, 8);
    expect(back).toEqual(data);
    expect(back.buffer).toBe(returned[0]?.buffer);
    // The caller owns it: changing it does not change what the next read returns.
    back.fill(0);
    expect(await lu.read(4, 8)).toEqual(data);
    // Longer than one command: assembled into one new buffer, as before.
    expect(await lu.read(0, 40)).toHaveLength(40 * 512);
  });

  it('never makes a command larger than the platform takes in one transfer (transport.info.maxTransferSize)', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 1000 }], info: { maxTransferSize: 8 * 512 } }, { maxTransferBytes: 1 << 20 });
    expect(device.maxTransferBytes).toBe(8 * 512);
    const lu = device.lun(0);
    const data = pattern(512 * 20, 5);
    await lu.write(0, data);
    expect(await lu.read(0, 20)).toEqual(data);
    expect(sim.log.filter((c) => c.opcode === 0x28).map((c) => c.hostLength)).toEqual([8 * 512, 8 * 512, 4 * 512]);
  });

  it('does not read VPD pages at open unless asked (cheap devices hang on them)', async () => {
    const { sim } = await openSim();
    expect(sim.log.some((c) => c.opcode === 0x12 && ((c.cdb[1] ?? 0) & 1) === 1)).toBe(false);
  });

  it('rejects ranges beyond the capacity and bad sizes before sending anything', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 100 }] });
    const lu = device.lun(0);
    await lu.readCapacity();
    const before = sim.log.length;
    await expect(lu.read(99, 2)).rejects.toThrow(/beyond the end of LUN 0 \(last LBA 99\)/);
    await expect(lu.read(100, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lu.read(-1, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lu.read(0, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lu.read(2 ** 53, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lu.write(0, new Uint8Array(100))).rejects.toThrow(/multiple of the block size 512/);
    await expect(lu.write(99, new Uint8Array(1024))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lu.read(0, 2, { into: new Uint8Array(10) })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(sim.log.length).toBe(before);
    // The last block itself is fine.
    expect(await lu.read(99, 1)).toHaveLength(512);
  });

  it('fills a caller-supplied buffer', async () => {
    const { device } = await openSim();
    const lu = device.lun(0);
    await lu.write(5, pattern(1024, 9));
    const into = new Uint8Array(1024);
    const out = await lu.read(5, 2, { into });
    expect(out).toBe(into);
    expect(into).toEqual(pattern(1024, 9));
  });

  it('verifies a write by reading it back', async () => {
    const { device } = await openSim();
    await expect(device.lun(0).write(0, pattern(2048, 1), { verify: true })).resolves.toBeUndefined();

    // A medium that silently corrupts one byte of what it stores.
    const store = new RamStore();
    const corrupting = {
      read: (offset: number, length: number) => store.read(offset, length),
      write: (offset: number, data: Uint8Array) => {
        const bad = data.slice();
        const at = 1024 + 7 - offset;
        if (at >= 0 && at < bad.length) bad[at] = (bad[at] ?? 0) ^ 0xff;
        store.write(offset, bad);
      },
      flush: () => store.flush(),
    };
    const { device: flaky } = await openSim({ luns: [{ store: corrupting, writeCache: false }] });
    const error = await flaky
      .lun(0)
      .write(0, pattern(2048, 1), { verify: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerifyMismatchError);
    expect((error as Error).message).toContain('differs at LBA 2 (byte 7)');
  });

  it('refuses writes on write-protected media with a clear error', async () => {
    const { device } = await openSim({ luns: [{ writeProtected: true }] });
    const lu = device.lun(0);
    await expect(lu.write(0, new Uint8Array(512))).rejects.toBeInstanceOf(WriteProtectedError);
    expect(await lu.isWriteProtected()).toBe(true);
    await expect(lu.write(0, new Uint8Array(512))).rejects.toThrow(/write-protected/);
  });

  it('reports a medium error with the decoded sense and LBA', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 20000 }] });
    sim.inject({ kind: 'medium-error', lba: 12345 });
    const error = await device
      .lun(0)
      .read(12340, 10)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as Error).message).toContain('MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 12345');
  });
});

describe('MscDevice: flush and power cut', () => {
  it('loses nothing that was reported flushed, and close() flushes by default', async () => {
    const { sim, device } = await openSim();
    const lu = device.lun(0);
    const a = pattern(512 * 4, 1);
    const b = pattern(512 * 4, 2);
    await lu.write(0, a);
    await lu.flush();
    await lu.write(8, b);
    // Power goes away: the device is gone for the host, and the volatile cache with it.
    sim.powerCut();
    expect(device.state).toBe('disconnected');
    const afterCut = await MscDevice.open(sim.reconnect());
    // a was flushed: it survives. b was not: the simulated cache lost it.
    expect(await afterCut.lun(0).read(0, 4)).toEqual(a);
    expect(await afterCut.lun(0).read(8, 4)).not.toEqual(b);

    await afterCut.lun(0).write(8, b);
    const flushesBefore = sim.stats.flushes;
    await afterCut.close();
    expect(sim.stats.flushes).toBe(flushesBefore + 1);
    sim.powerCut();
    const again = await MscDevice.open(sim.reconnect());
    expect(await again.lun(0).read(8, 4)).toEqual(b);
  });
});

describe('MscDevice: sense handling', () => {
  it('retries once after UNIT ATTENTION power on/reset', async () => {
    const { sim, device } = await openSim();
    sim.inject({ kind: 'unit-attention', trigger: 'now' });
    await expect(device.lun(0).testUnitReady()).resolves.toBeUndefined();
    expect(sim.log.filter((c) => c.opcode === 0x00)).toHaveLength(2);
  });

  it('waits while the LUN is becoming ready, up to a limit', async () => {
    const { sim, device } = await openSim({}, { becomingReadyPollMs: 1, becomingReadyTimeoutMs: 10_000 });
    sim.inject({ kind: 'not-ready', times: 3 });
    await expect(device.lun(0).readCapacity()).resolves.toMatchObject({ blockSize: 512 });

    const { sim: slow, device: slowDevice } = await openSim({}, { becomingReadyPollMs: 1, becomingReadyTimeoutMs: 0 });
    slow.inject({ kind: 'not-ready', times: 3 });
    await expect(slowDevice.lun(0).readCapacity()).rejects.toThrow(/becoming ready/);
  });

  it('never retries MEDIUM NOT PRESENT', async () => {
    const { sim, device } = await openSim({ luns: [{ mediumPresent: false }] });
    await expect(device.lun(0).testUnitReady()).rejects.toBeInstanceOf(ScsiCheckConditionError);
    expect(sim.log.filter((c) => c.opcode === 0x00)).toHaveLength(1);
  });

  it('reports MEDIUM CHANGED and forgets the cached capacity', async () => {
    const { sim, device } = await openSim();
    const lu = device.lun(0);
    await lu.readCapacity();
    sim.inject({ kind: 'unit-attention', trigger: 'now', asc: 0x28, ascq: 0x00 });
    await expect(lu.testUnitReady()).rejects.toThrow(/28\/00/);
    expect(lu.capacity).toBeUndefined();
  });
});

describe('MscDevice.execute (raw and vendor commands)', () => {
  it('returns CHECK CONDITION with decoded sense for an unknown opcode, without throwing', async () => {
    const { device } = await openSim();
    const result = await device.execute({ cdb: new Uint8Array([0xc7, 0, 0, 0, 0, 0]), direction: 'in', length: 64 });
    expect(result.status).toBe('check-condition');
    expect(result.statusCode).toBe(0x02);
    expect(result.sense).toMatchObject({ senseKey: 0x05, asc: 0x20, ascq: 0x00 });
    expect(result.data).toHaveLength(0);
    await expect(device.execute({ cdb: new Uint8Array([0xc7, 0, 0, 0, 0, 0]), direction: 'none', throwOnCheckCondition: true })).rejects.toThrow(
      /ILLEGAL REQUEST: Invalid command operation code \(05\/20\/00\)/,
    );
  });

  it('returns exactly the bytes received and the residue', async () => {
    const { device } = await openSim();
    const result = await device.execute({ cdb: new Uint8Array([0x12, 0, 0, 0, 255, 0]), direction: 'in', length: 255 });
    expect(result.status).toBe('good');
    expect(result.data.length + result.residue).toBe(255);
    expect(result.data.length).toBeGreaterThanOrEqual(36);
  });

  it('rejects invalid requests before anything is sent', async () => {
    const { sim, device } = await openSim();
    const before = sim.log.length;
    const bad = [
      { cdb: new Uint8Array(0), direction: 'none' as const },
      { cdb: new Uint8Array(17), direction: 'none' as const },
      { cdb: new Uint8Array(6), direction: 'in' as const },
      { cdb: new Uint8Array(6), direction: 'in' as const, length: 2 ** 32 },
      { cdb: new Uint8Array(6), direction: 'out' as const },
      { cdb: new Uint8Array(6), direction: 'out' as const, data: new Uint8Array(4), length: 8 },
      { cdb: new Uint8Array(6), direction: 'none' as const, data: new Uint8Array(4) },
      { cdb: new Uint8Array(6), direction: 'none' as const, lun: 1 },
    ];
    for (const request of bad) await expect(device.execute(request)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(sim.log.length).toBe(before);
  });

  it('runs typed vendor commands against the simulator hook', async () => {
    const config = new Map<number, Uint8Array>();
    const { device } = await openSim({
      vendorCommand: (cdb, dataOut) => {
        if (cdb[0] === 0xc0 && cdb[1] === 0x01) {
          const date = new TextEncoder().encode('2026-11-25');
          return { status: 'good', data: new Uint8Array([2, 7, 0x01, 0x2c, date.length, ...date]) };
        }
        if (cdb[0] === 0xc1 && cdb[1] === 0x02) {
          config.set(cdb[2] ?? 0, dataOut.slice());
          return { status: 'good' };
        }
        return undefined;
      },
    });
    await expect(device.run(acmeReadFirmwareVersion())).resolves.toEqual({ major: 2, minor: 7, build: 300, date: '2026-11-25' });
    await device.lun(0).run(acmeWriteConfigPage({ page: 3, data: new Uint8Array([1, 2, 3, 4]) }));
    expect(config.get(3)).toEqual(new Uint8Array([1, 2, 3, 4]));
  });
});

describe('MscDevice: read-only option', () => {
  it('refuses every write-class command before sending it; SYNCHRONIZE CACHE stays allowed', async () => {
    const { sim, device } = await openSim({}, { readOnly: true });
    const lu = device.lun(0);
    const before = sim.log.length;
    await expect(lu.write(0, new Uint8Array(512))).rejects.toBeInstanceOf(ReadOnlyError);
    await expect(lu.run(acmeWriteConfigPage({ page: 0, data: new Uint8Array(4) }))).rejects.toBeInstanceOf(ReadOnlyError);
    await expect(device.execute({ cdb: new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0]), direction: 'none' })).rejects.toBeInstanceOf(ReadOnlyError);
    await expect(device.execute({ cdb: new Uint8Array([0x04, 0, 0, 0, 0, 0]), direction: 'none' })).rejects.toBeInstanceOf(ReadOnlyError); // FORMAT UNIT
    await expect(device.execute({ cdb: new Uint8Array([0xc1, 0, 0, 0, 4, 0]), direction: 'out', data: new Uint8Array(4) })).rejects.toBeInstanceOf(
      ReadOnlyError,
    );
    expect(sim.log.length).toBe(before);
    await expect(lu.flush()).resolves.toBeUndefined();
    expect(sim.log.at(-1)?.opcode).toBe(0x35);
  });
});

describe('MscDevice: abort, timeout, disconnect', () => {
  it('rejects an aborted in-flight command promptly, recovers the device, and runs the next command', async () => {
    const { sim, device } = await openSim();
    sim.inject({ kind: 'hang', stage: 'data' });
    const controller = new AbortController();
    const read = device.lun(0).read(0, 8, { signal: controller.signal });
    const next = device.lun(0).testUnitReady();
    setTimeout(() => controller.abort(), 20);
    await expect(read).rejects.toBeInstanceOf(AbortError);
    await expect(next).resolves.toBeUndefined();
    expect(sim.stats.bulkOnlyResets).toBeGreaterThanOrEqual(1);
    sim.assertClean();
  });

  it('times a hung command out, recovers, and the next command works', async () => {
    const { sim, device } = await openSim();
    sim.inject({ kind: 'hang', stage: 'csw' });
    await expect(device.lun(0).testUnitReady({ timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(device.lun(0).readCapacity()).resolves.toMatchObject({ blockSize: 512 });
  });

  it('rejects the in-flight and every queued command when the device is unplugged', async () => {
    const { sim, device } = await openSim();
    sim.inject({ kind: 'hang', stage: 'data' });
    const inFlight = device.lun(0).read(0, 1);
    const queued = [device.lun(0).testUnitReady(), device.lun(0).read(1, 1), device.execute({ cdb: new Uint8Array(6), direction: 'none' })];
    const disconnected = new Promise<void>((resolve) => device.onDisconnect(resolve));
    setTimeout(() => sim.disconnect(), 10);
    const results = await Promise.allSettled([inFlight, ...queued]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DisconnectedError);
    }
    await disconnected;
    expect(device.state).toBe('disconnected');
    await expect(device.lun(0).testUnitReady()).rejects.toBeInstanceOf(DisconnectedError);
    await expect(device.close()).resolves.toBeUndefined();
  });
});

describe('MscDevice: close right after commands settle (issue 12 defect 1)', () => {
  /** Rejects when `promise` has not settled within `ms` of real time: a hang detector. */
  const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms);
    });
    return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
  };
  const tur = { cdb: new Uint8Array(6), direction: 'none' as const };

  it('two execute() calls awaited one after the other, then close(): settles and releases the interface', async () => {
    const { sim, device } = await openSim();
    const a = device.execute(tur);
    const b = device.execute(tur);
    await a;
    await b;
    await within(device.close(), 2000, 'close()');
    expect(device.state).toBe('closed');
    await expect(sim.transport.bulkIn(13, { timeoutMs: 100 })).rejects.toBeInstanceOf(ClosedError);
  });

  it('two reset() calls awaited, then close(): settles', async () => {
    const { device } = await openSim();
    const a = device.reset();
    const b = device.reset();
    await a;
    await b;
    await within(device.close(), 2000, 'close()');
    expect(device.state).toBe('closed');
  });
});

describe('MscDevice: time limits (issue 12 defect 3)', () => {
  it('defaultTimeoutMs 2^31 opens the device and runs commands (it fired at once before)', async () => {
    const { device } = await openSim({}, { defaultTimeoutMs: 2 ** 31 });
    await expect(device.lun(0).testUnitReady()).resolves.toBeUndefined();
    await expect(device.lun(0).read(0, 1)).resolves.toHaveLength(512);
    await device.close();
  });

  it('timeoutMs 2^31, 2^40 and Infinity run the command; each transfer gets at most 2^31-1 ms', async () => {
    const { sim, device } = await openSim();
    const seen: number[] = [];
    const bulkIn = sim.transport.bulkIn.bind(sim.transport);
    sim.transport.bulkIn = (length, options) => {
      seen.push(options.timeoutMs);
      return bulkIn(length, options);
    };
    for (const timeoutMs of [2 ** 31, 2 ** 40, Number.POSITIVE_INFINITY]) {
      await expect(device.execute({ cdb: new Uint8Array(6), direction: 'none', timeoutMs })).resolves.toMatchObject({ status: 'good' });
      await expect(device.lun(0).read(0, 1, { timeoutMs })).resolves.toHaveLength(512);
      await expect(device.reset({ timeoutMs })).resolves.toBeUndefined();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2 ** 31 - 1);
    await device.close();
  });

  it('NaN, 0, negative timeouts are refused before anything is sent, per command and at open', async () => {
    const { sim, device } = await openSim();
    const sent = sim.log.length;
    for (const timeoutMs of [Number.NaN, 0, -5, Number.NEGATIVE_INFINITY]) {
      await expect(device.execute({ cdb: new Uint8Array(6), direction: 'none', timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(device.lun(0).testUnitReady({ timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(device.lun(0).read(0, 1, { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(device.reset({ timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(sim.log.length).toBe(sent);
    expect(sim.stats.bulkOnlyResets).toBe(0);
    await device.close();
    for (const defaultTimeoutMs of [Number.NaN, 0, -1]) {
      const fresh = new SimulatedDevice();
      await expect(MscDevice.open(fresh.transport, { defaultTimeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(fresh.log).toHaveLength(0);
    }
  });
});

/** The simulator's transport with one behaviour changed (a hostile device, issue 12). */
function hostile(sim: SimulatedDevice, change: Partial<Pick<MscTransport, 'bulkIn' | 'bulkOut'>>): MscTransport {
  const inner = sim.transport;
  return {
    get info() {
      return inner.info;
    },
    get concurrentPipes() {
      return inner.concurrentPipes === true;
    },
    bulkOut: change.bulkOut ?? ((data, options) => inner.bulkOut(data, options)),
    bulkIn: change.bulkIn ?? ((length, options) => inner.bulkIn(length, options)),
    clearHalt: (pipe, options) => inner.clearHalt(pipe, options),
    classRequest: (request, options) => inner.classRequest(request, options),
    close: () => inner.close(),
    onDisconnect: (listener) => inner.onDisconnect(listener),
  };
}

describe('MscDevice: partial writes (issue 12 defect 2)', () => {
  it('data-out stall after 512 of 1024 bytes, then GOOD: PartialWriteError with blocksWritten 1 (it resolved before)', async () => {
    const sim = new SimulatedDevice();
    const inner = sim.transport;
    let cut = false;
    const transport = hostile(sim, {
      bulkOut: async (data, options) => {
        const r = await inner.bulkOut(data, options);
        // The device took the first block only, stalled, and then still reports GOOD with no residue.
        if (cut && data.length === 1024) return { status: 'stall', bytesWritten: 512 };
        return r;
      },
    });
    const device = await MscDevice.open(transport, { earlyStatus: false });
    const lu = device.lun(0);
    await lu.readCapacity();
    cut = true;
    const error = await lu.write(10, pattern(1024, 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialWriteError);
    expect(error).toMatchObject({ code: 'PARTIAL_WRITE', lba: 10, blocks: 2, blocksWritten: 1 });
    expect((error as PartialWriteError).details).toMatchObject({ residue: 512 });
    await device.close();
  });

  it('GOOD with residue 1024 (nothing written): PartialWriteError with blocksWritten 0', async () => {
    const sim = new SimulatedDevice();
    const inner = sim.transport;
    let lie = false;
    const transport = hostile(sim, {
      bulkIn: async (length, options) => {
        const r = await inner.bulkIn(length, options);
        if (lie && length === 13 && r.data.length === 13) new DataView(r.data.buffer, r.data.byteOffset + 8, 4).setUint32(0, 1024, true);
        return r;
      },
    });
    const device = await MscDevice.open(transport);
    const lu = device.lun(0);
    await lu.readCapacity();
    lie = true;
    await expect(lu.write(4, pattern(1024, 2))).rejects.toMatchObject({ name: 'PartialWriteError', lba: 4, blocks: 2, blocksWritten: 0 });
    lie = false;
    await device.close();
  });

  it('a multi-command write that fails later reports the blocks of the commands that went through, with the cause', async () => {
    const { sim, device } = await openSim({}, { maxTransferBytes: 1024 });
    const lu = device.lun(0);
    await lu.readCapacity();
    sim.inject({ kind: 'medium-error', lba: 5, writes: true });
    const error = await lu.write(0, pattern(8 * 512, 3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialWriteError);
    expect(error).toMatchObject({ lba: 0, blocks: 8, blocksWritten: 4 });
    expect((error as PartialWriteError).cause).toBeInstanceOf(ScsiCheckConditionError);
    await device.close();
  });
});

describe('MscDevice: babble (issue 12 defect 5)', () => {
  it('a data stage longer than asked, then GOOD: lu.read throws BabbleError, execute() reports babble: true', async () => {
    const sim = new SimulatedDevice();
    const inner = sim.transport;
    let babble = false;
    const transport = hostile(sim, {
      bulkIn: async (length, options) => {
        const r = await inner.bulkIn(length, options);
        return babble && length > 13 && r.status === 'ok' ? { status: 'babble', data: r.data } : r;
      },
    });
    const device = await MscDevice.open(transport);
    const lu = device.lun(0);
    await lu.readCapacity();
    babble = true;
    await expect(lu.read(0, 1)).rejects.toMatchObject({ name: 'BabbleError', code: 'BABBLE' });
    const r = await device.execute({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), direction: 'in', length: 512 });
    expect(r).toMatchObject({ status: 'good', babble: true });
    expect(r.data).toHaveLength(512);
    babble = false;
    const clean = await device.execute({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), direction: 'in', length: 512 });
    expect(clean.babble).toBeUndefined();
    await device.close();
  });
});

describe('MscDevice: arguments checked before anything is sent (issue 12 defect 6)', () => {
  it('bad LBAs, counts and empty writes on a fresh device send nothing, not even READ CAPACITY', async () => {
    const { sim, device } = await openSim();
    const lu = device.lun(0);
    const sent = sim.log.length;
    const bad: Array<() => Promise<unknown>> = [
      () => lu.read(-1, 1),
      () => lu.read(0, 0),
      () => lu.read(0.5, 1),
      () => lu.read(Number.NaN, 1),
      () => lu.read(0, Number.POSITIVE_INFINITY),
      () => lu.read(0, 1.5),
      () => lu.write(0, new Uint8Array(0)),
      () => lu.write(-1, new Uint8Array(512)),
      () => lu.write(Number.NaN, new Uint8Array(512)),
      () => lu.verify(0, -1),
    ];
    for (const call of bad) await expect(call()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(sim.log.length).toBe(sent);
    await device.close();
  });

  it('100 concurrent first reads share one READ CAPACITY', async () => {
    const { sim, device } = await openSim();
    const lu = device.lun(0);
    const reads = await Promise.all(Array.from({ length: 100 }, (_, i) => lu.read(i, 1)));
    expect(reads.every((r) => r.length === 512)).toBe(true);
    expect(sim.log.filter((c) => c.opcode === 0x25)).toHaveLength(1);
    await device.close();
  });

  it('one caller aborting the shared READ CAPACITY does not fail the others', async () => {
    const { sim, device } = await openSim({ commandDelayMs: 20 });
    const lu = device.lun(0);
    const controller = new AbortController();
    const first = lu.read(0, 1, { signal: controller.signal });
    const second = lu.read(1, 1);
    setTimeout(() => controller.abort(), 5);
    await expect(first).rejects.toBeInstanceOf(AbortError);
    await expect(second).resolves.toHaveLength(512);
    sim.assertClean();
    await device.close();
  });

  it('a DisconnectedError from the transport without a disconnect event moves the device to disconnected', async () => {
    const sim = new SimulatedDevice();
    const inner = sim.transport;
    let gone = false;
    const transport = hostile(sim, {
      bulkOut: (data, options) => (gone ? Promise.reject(new DisconnectedError('LIBUSB_ERROR_NO_DEVICE')) : inner.bulkOut(data, options)),
    });
    const device = await MscDevice.open(transport);
    const events: string[] = [];
    device.onDisconnect(() => events.push('disconnect'));
    gone = true;
    await expect(device.lun(0).testUnitReady()).rejects.toBeInstanceOf(DisconnectedError);
    expect(device.state).toBe('disconnected');
    expect(events).toEqual(['disconnect']);
    await expect(device.execute({ cdb: new Uint8Array(6), direction: 'none' })).rejects.toBeInstanceOf(DisconnectedError);
    await device.close();
  });
});

describe('MscDevice: SYNCHRONIZE CACHE at close for writes through any path (issue 14 item 2)', () => {
  const write10 = Uint8Array.of(0x2a, 0, 0, 0, 0, 16, 0, 0, 1, 0);
  const syncs = (sim: SimulatedDevice) => sim.log.filter((c) => c.opcode === 0x35).map((c) => c.lun);

  it('a WRITE(10) through execute() is flushed at close, on its LUN only', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 100 }, { blocks: 100 }] });
    await device.execute({ cdb: write10, direction: 'out', data: pattern(512, 4), lun: 1 });
    expect(device.lun(1).dirty).toBe(true);
    expect(device.lun(0).dirty).toBe(false);
    await device.close();
    expect(syncs(sim)).toEqual([1]);
  });

  it('a vendor data-out command is flushed only with flush: true', async () => {
    const vendorCommand = (cdb: Uint8Array) => (cdb[0] === 0xc5 ? { status: 'good' as const } : undefined);
    const plain = await openSim({ vendorCommand });
    await plain.device.execute({ cdb: Uint8Array.of(0xc5, 0, 0, 0, 0, 0), direction: 'out', data: new Uint8Array(16) });
    await plain.device.close();
    expect(syncs(plain.sim)).toEqual([]);
    const asked = await openSim({ vendorCommand });
    await asked.device.execute({ cdb: Uint8Array.of(0xc5, 0, 0, 0, 0, 0), direction: 'out', data: new Uint8Array(16), flush: true });
    await asked.device.close();
    expect(syncs(asked.sim)).toEqual([0]);
  });

  it('a device that rejects SYNCHRONIZE CACHE as unsupported (05/20/00) closes without error', async () => {
    const { sim, device } = await openSim({ luns: [{ blocks: 100, synchronizeCache: false }] });
    await device.lun(0).write(0, pattern(512, 5));
    await expect(device.close()).resolves.toBeUndefined();
    expect(syncs(sim)).toEqual([0]);
  });
});

describe('MscDevice: trace', () => {
  it('emits CBW, data and CSW events with timings, and sense after CHECK CONDITION', async () => {
    const { device } = await openSim();
    const events: TraceEvent[] = [];
    const off = device.onTrace((e) => events.push(e));
    await device.lun(0).read(0, 1);
    await device.execute({ cdb: new Uint8Array([0xc7, 0, 0, 0, 0, 0]), direction: 'none' });
    off();
    await device.lun(0).testUnitReady();
    const types = events.map((e) => e.type);
    expect(types.slice(0, 5)).toEqual(['command-start', 'cbw', 'data', 'csw', 'command-end']);
    expect(types).toContain('sense');
    const end = events.find((e) => e.type === 'command-end');
    expect(end && 'durationMs' in end ? end.durationMs : -1).toBeGreaterThanOrEqual(0);
    const count = events.length;
    expect(events.length).toBe(count);
  });
});
