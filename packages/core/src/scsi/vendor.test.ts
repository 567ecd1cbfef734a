import { afterEach, describe, expect, it } from 'vitest';
import { ACME_VENDOR_OPCODE_IN, ACME_VENDOR_OPCODE_OUT, acmeReadFirmwareVersion, acmeWriteConfigPage } from '../../../../docs/examples/vendor-commands.js';
import { MscDevice } from '../device.js';
import { InvalidArgumentError, ParseError, ReadOnlyError, ScsiCheckConditionError } from '../errors.js';
import type { SimVendorHook } from '../sim/index.js';
import { SimulatedDevice } from '../sim/index.js';
import { defineCommand, expectLength } from './vendor.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('defineCommand (pure)', () => {
  it('builds an IN command with options, length and a typed decoder', () => {
    const readRegister = defineCommand({
      name: 'READ REGISTER',
      direction: 'in',
      length: (o: { register: number; count: number }) => o.count * 4,
      validate: (o) => {
        if (o.count < 1 || o.count > 16) throw new InvalidArgumentError('count must be 1-16');
      },
      cdb: (o) => [0xd0, o.register, o.count],
      decode: (data, o) => {
        expectLength(data, o.count * 4, 'register values');
        return Array.from(
          { length: o.count },
          (_, i) => ((data[i * 4] ?? 0) << 24) | ((data[i * 4 + 1] ?? 0) << 16) | ((data[i * 4 + 2] ?? 0) << 8) | (data[i * 4 + 3] ?? 0),
        );
      },
    });
    expect(readRegister.commandName).toBe('READ REGISTER');
    const c = readRegister({ register: 7, count: 2 });
    expect(hex(c.cdb)).toBe('d0 07 02');
    expect(c).toMatchObject({ name: 'READ REGISTER', direction: 'in', length: 8 });
    expect(c.writesMedium).toBeUndefined();
    expect(c.decode(Uint8Array.of(0, 0, 0, 1, 0, 0, 1, 0))).toEqual([1, 256]);
    expect(() => c.decode(Uint8Array.of(0, 0, 0, 1))).toThrow(ParseError);
    expect(() => readRegister({ register: 7, count: 0 })).toThrow(/count must be 1-16/);
  });

  it('options may be omitted when the command takes none', () => {
    expect(hex(acmeReadFirmwareVersion().cdb)).toBe('c0 01 00 00 00 20');
    expect(acmeReadFirmwareVersion().length).toBe(32);
  });

  it('OUT commands carry the data and count as writing by default', () => {
    const data = Uint8Array.of(1, 0, 0x10, 0);
    const c = acmeWriteConfigPage({ page: 2, data });
    expect(hex(c.cdb)).toBe('c1 02 02 00 04 00');
    expect(c).toMatchObject({ direction: 'out', length: 4, writesMedium: true, timeoutMs: 5000 });
    expect(c.data).toBe(data);
  });

  it('no-data commands; known write opcodes are marked writing', () => {
    const spinDown = defineCommand({ name: 'VENDOR SPIN DOWN', direction: 'none', cdb: () => [0xe5] });
    expect(spinDown()).toMatchObject({ direction: 'none', length: 0 });
    const writeSame = defineCommand({ name: 'MY WRITE SAME', direction: 'none', cdb: () => new Uint8Array([0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0]) });
    expect(writeSame().writesMedium).toBe(true);
  });

  it('rejects bad CDBs, lengths and data before anything is built', () => {
    const make = (cdb: readonly number[] | Uint8Array) => defineCommand({ name: 'X', direction: 'none', cdb: () => cdb });
    expect(() => make([])()).toThrow(/1-16 bytes/);
    expect(() => make(new Uint8Array(17))()).toThrow(/1-16 bytes/);
    expect(() => make([0xc0, 256])()).toThrow(/CDB byte 1 is 256/);
    expect(() => make([0xc0, 1.5])()).toThrow(InvalidArgumentError);
    const badLength = defineCommand({ name: 'Y', direction: 'in', length: 0, cdb: () => [0xc0], decode: (d) => d });
    expect(() => badLength()).toThrow(/transfer length/);
    const hugeLength = defineCommand({ name: 'Y', direction: 'in', length: 2 ** 32, cdb: () => [0xc0], decode: (d) => d });
    expect(() => hugeLength()).toThrow(InvalidArgumentError);
    const emptyOut = defineCommand({ name: 'Z', direction: 'out', cdb: () => [0xc1], data: () => new Uint8Array(0) });
    expect(() => emptyOut()).toThrow(InvalidArgumentError);
    expect(() => acmeWriteConfigPage({ page: 16, data: new Uint8Array(4) })).toThrow(InvalidArgumentError);
    expect(() => acmeWriteConfigPage({ page: 1, data: new Uint8Array(3) })).toThrow(/multiple of 4/);
    expect(() => defineCommand({ name: '', direction: 'none', cdb: () => [0] })).toThrow(InvalidArgumentError);
    expect(() => defineCommand({ name: 'W', direction: 'sideways' as 'none', cdb: () => [0] })).toThrow(/direction/);
  });

  it('non-usbms errors from user code become typed errors', () => {
    const sloppy = defineCommand({
      name: 'SLOPPY',
      direction: 'in',
      length: 4,
      validate: () => {
        throw new RangeError('nope');
      },
      cdb: () => [0xc0],
      decode: () => 0,
    });
    expect(() => sloppy()).toThrow(InvalidArgumentError);
    const crashy = defineCommand({
      name: 'CRASHY',
      direction: 'in',
      length: 4,
      cdb: () => [0xc0],
      decode: (d) => {
        if (d.length < 4) throw new TypeError('short');
        return d;
      },
    });
    expect(() => crashy().decode(new Uint8Array(1))).toThrow(ParseError);
    expect(() => crashy().decode(new Uint8Array(1))).toThrow(/CRASHY data: short/);
  });

  it('the CDB is copied: later changes to the caller array do not leak in', () => {
    const raw = new Uint8Array([0xc0, 1]);
    const c = defineCommand({ name: 'C', direction: 'none', cdb: () => raw })();
    raw[1] = 9;
    expect(c.cdb[1]).toBe(1);
  });
});

describe('vendor commands round trip on the simulator', () => {
  const configPages = new Map<number, Uint8Array>();
  // A vendor hook as the ACME bridge would behave: firmware version IN, config page OUT.
  const hook: SimVendorHook = (cdb, dataOut) => {
    if (cdb[0] === ACME_VENDOR_OPCODE_IN && cdb[1] === 0x01) {
      const date = Array.from('2024-05-17', (c) => c.charCodeAt(0));
      return { status: 'good', data: Uint8Array.from([3, 14, 0x01, 0x02, date.length, ...date]) };
    }
    if (cdb[0] === ACME_VENDOR_OPCODE_OUT && cdb[1] === 0x02) {
      const page = cdb[2] ?? 0;
      if (page > 7) return { status: 'check-condition', sense: { key: 0x05, asc: 0x26, ascq: 0x02 } };
      configPages.set(page, dataOut.slice());
      return { status: 'good' };
    }
    if (cdb[0] === 0xc2) return { status: 'good', data: Uint8Array.of(1, 2) };
    return undefined;
  };
  let device: MscDevice | undefined;
  afterEach(async () => {
    await device?.close({ flush: false });
    device = undefined;
    configPages.clear();
  });

  it('READ FIRMWARE VERSION returns the decoded version', async () => {
    const sim = new SimulatedDevice({ vendorCommand: hook });
    device = await MscDevice.open(sim.transport);
    expect(await device.run(acmeReadFirmwareVersion())).toEqual({ major: 3, minor: 14, build: 0x0102, date: '2024-05-17' });
  });

  it('WRITE CONFIG PAGE delivers the data-out bytes; a device error is a typed check condition', async () => {
    const sim = new SimulatedDevice({ vendorCommand: hook });
    device = await MscDevice.open(sim.transport);
    await device.run(acmeWriteConfigPage({ page: 3, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }));
    expect(Array.from(configPages.get(3) ?? [])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const error = await device.run(acmeWriteConfigPage({ page: 9, data: new Uint8Array(4) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as ScsiCheckConditionError).sense).toMatchObject({ senseKey: 5, asc: 0x26, ascq: 0x02, description: 'Parameter value invalid' });
  });

  it('a read-only device refuses the OUT vendor command before sending it', async () => {
    const sim = new SimulatedDevice({ vendorCommand: hook });
    device = await MscDevice.open(sim.transport, { readOnly: true });
    await expect(device.run(acmeWriteConfigPage({ page: 1, data: new Uint8Array(4) }))).rejects.toBeInstanceOf(ReadOnlyError);
    expect(configPages.size).toBe(0);
    // Reading is still allowed.
    expect((await device.run(acmeReadFirmwareVersion())).major).toBe(3);
  });

  it('a short vendor response is a ParseError from the decoder, and an unknown opcode is 05/20/00', async () => {
    const sim = new SimulatedDevice({ vendorCommand: hook });
    device = await MscDevice.open(sim.transport);
    const short = defineCommand({
      name: 'ACME SHORT',
      direction: 'in',
      length: 16,
      cdb: () => [0xc2, 0, 0, 0, 0, 16],
      decode: (data) => {
        expectLength(data, 4, 'ACME SHORT data');
        return data;
      },
    });
    await expect(device.run(short())).rejects.toBeInstanceOf(ParseError);
    const unknown = defineCommand({ name: 'ACME UNKNOWN', direction: 'none', cdb: () => [0xcf, 0, 0, 0, 0, 0] });
    const error = await device.run(unknown()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as Error).message).toMatch(/Invalid command operation code \(05\/20\/00\)/);
  });
});
