// Every key of Quirks changes what usbms does with a (simulated) device, at its one point of use.
// `cases` is a Record over the keys, so a key added to Quirks without a case here does not compile,
// and the first test fails at run time if QUIRK_KEYS and the cases disagree.
import { describe, expect, it } from 'vitest';
import { MscDevice } from './device.js';
import { InvalidCswError, UnsupportedError } from './errors.js';
import { QUIRK_KEYS, type Quirks } from './quirks.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from './sim/index.js';

const Op = {
  TestUnitReady: 0x00,
  ModeSense6: 0x1a,
  PreventAllow: 0x1e,
  ReadCapacity10: 0x25,
  Read10: 0x28,
  SynchronizeCache10: 0x35,
  ModeSense10: 0x5a,
  ServiceActionIn16: 0x9e,
  ReportLuns: 0xa0,
  Inquiry: 0x12,
} as const;

async function openWith(quirks: Partial<Quirks>, options: SimulatedDeviceOptions = {}): Promise<{ device: MscDevice; sim: SimulatedDevice }> {
  const sim = new SimulatedDevice(options);
  const device = await MscDevice.open(sim.transport, { quirks });
  return { device, sim };
}

/** Opcodes the device received after open (GET MAX LUN and INQUIRY excluded). */
const sentAfterOpen = (sim: SimulatedDevice, from: number): number[] => sim.log.slice(from).map((r) => r.opcode);

/** Runs `scenario` without and with the flag; returns both observations. */
type Observe = (quirks: Partial<Quirks>) => Promise<unknown>;

const cases: Record<keyof Quirks, { on: Partial<Quirks>; observe: Observe }> = {
  ignoreResidue: {
    on: { ignoreResidue: true },
    // The device claims a residue beyond the request for a READ(10) that transferred everything.
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      sim.inject({ kind: 'residue-too-large', opcode: Op.Read10 });
      const r = await device.execute({ cdb: Uint8Array.of(Op.Read10, 0, 0, 0, 0, 0, 0, 0, 8, 0), direction: 'in', length: 4096 });
      return { residue: r.residue, bytes: r.data?.length };
    },
  },
  ignoreTag: {
    on: { ignoreTag: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      sim.inject({ kind: 'wrong-tag', opcode: Op.TestUnitReady });
      return device.testUnitReady().then(
        () => 'ok',
        (e: unknown) => (e instanceof InvalidCswError ? 'invalid-csw' : String(e)),
      );
    },
  },
  singleLun: {
    on: { singleLun: true },
    observe: async (q) => (await openWith(q, { luns: [{}, {}] })).device.maxLun,
  },
  maxTransferBytes: {
    on: { maxTransferBytes: 4096 },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      await device.lun(0).read(0, 16);
      return sentAfterOpen(sim, from).filter((op) => op === Op.Read10).length;
    },
  },
  noReadCapacity16: {
    on: { noReadCapacity16: true },
    // More than 2^32 blocks: READ CAPACITY(10) answers 0xFFFFFFFF and (16) is needed for the real size.
    observe: async (q) => {
      const { device } = await openWith(q, { luns: [{ blocks: 2 ** 33, blockSize: 512 }] });
      return device
        .lun(0)
        .readCapacity()
        .then(
          (c) => c.blocks,
          (e: unknown) => (e as Error).name,
        );
    },
  },
  readCapacity16First: {
    on: { readCapacity16First: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      const c = await device.lun(0).readCapacity();
      return { blocks: c.blocks, sent: sentAfterOpen(sim, from) };
    },
  },
  padCdbTo12: {
    on: { padCdbTo12: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      await device.testUnitReady();
      return sim.log.slice(from).map((r) => r.cdb.length);
    },
  },
  avoid6ByteCommands: {
    on: { avoid6ByteCommands: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      await device.lun(0).modeSense();
      return sentAfterOpen(sim, from);
    },
  },
  noSynchronizeCache: {
    on: { noSynchronizeCache: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      await device.lun(0).write(0, new Uint8Array(512));
      const from = sim.log.length;
      await device.lun(0).flush();
      return sentAfterOpen(sim, from);
    },
  },
  fixCapacity: {
    on: { fixCapacity: true },
    observe: async (q) => (await (await openWith(q, { luns: [{ blocks: 1000 }] })).device.lun(0).readCapacity()).blocks,
  },
  noWriteProtectDetect: {
    on: { noWriteProtectDetect: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q, { luns: [{ writeProtected: true }] });
      const from = sim.log.length;
      return { protected: await device.lun(0).isWriteProtected(), sent: sentAfterOpen(sim, from) };
    },
  },
  noPreventRemoval: {
    on: { noPreventRemoval: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q, { luns: [{ removable: true }] });
      const from = sim.log.length;
      await device.lun(0).eject();
      return sentAfterOpen(sim, from);
    },
  },
  noReportLuns: {
    on: { noReportLuns: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      const result = await device
        .lun(0)
        .reportLuns()
        .then(
          (luns) => luns,
          (e: unknown) => (e instanceof UnsupportedError ? 'unsupported' : String(e)),
        );
      return { result, sent: sentAfterOpen(sim, from) };
    },
  },
  noVpdPages: {
    on: { noVpdPages: true },
    observe: async (q) => {
      const { device, sim } = await openWith(q);
      const from = sim.log.length;
      const result = await device
        .lun(0)
        .vpdPages()
        .then(
          (pages) => pages.length > 0,
          (e: unknown) => (e instanceof UnsupportedError ? 'unsupported' : String(e)),
        );
      return { result, sent: sentAfterOpen(sim, from) };
    },
  },
};

/** What each flag must do (its observation with the flag set, and without). */
const expected: Record<keyof Quirks, { off: unknown; on: unknown }> = {
  ignoreResidue: { off: { residue: 4096, bytes: 0 }, on: { residue: 0, bytes: 4096 } },
  ignoreTag: { off: 'invalid-csw', on: 'ok' },
  singleLun: { off: 1, on: 0 },
  maxTransferBytes: { off: 1, on: 2 },
  noReadCapacity16: { off: 2 ** 33, on: 2 ** 32 },
  readCapacity16First: { off: { blocks: 16384, sent: [Op.ReadCapacity10] }, on: { blocks: 16384, sent: [Op.ServiceActionIn16] } },
  padCdbTo12: { off: [6], on: [12] },
  avoid6ByteCommands: { off: [Op.ModeSense6], on: [Op.ModeSense10] },
  noSynchronizeCache: { off: [Op.SynchronizeCache10], on: [] },
  fixCapacity: { off: 1000, on: 999 },
  noWriteProtectDetect: { off: { protected: true, sent: [Op.ModeSense6] }, on: { protected: false, sent: [] } },
  noPreventRemoval: { off: [Op.PreventAllow, 0x1b], on: [0x1b] },
  noReportLuns: { off: { result: [0], sent: [Op.ReportLuns] }, on: { result: 'unsupported', sent: [] } },
  noVpdPages: { off: { result: true, sent: [Op.Inquiry] }, on: { result: 'unsupported', sent: [] } },
};

describe('every quirk flag acts on the simulated device', () => {
  it('every key of Quirks has a case (a new key without one fails here)', () => {
    expect(Object.keys(cases).sort()).toEqual([...QUIRK_KEYS].sort());
    expect(Object.keys(expected).sort()).toEqual([...QUIRK_KEYS].sort());
  });

  it.each([...QUIRK_KEYS])('%s', async (key) => {
    const c = cases[key];
    const off = await c.observe({});
    const on = await c.observe(c.on);
    expect(off).not.toEqual(on);
    expect({ off, on }).toEqual(expected[key]);
  });
});

describe('quirk matching at open', () => {
  it('a rule on bcdDevice matches the transport-reported bcdDevice, and the trace names it', async () => {
    const events: string[][] = [];
    const rule = { description: 'test bridge', vendorId: 0x1209, productId: 0x5553, bcdDeviceMin: 0x0100, bcdDeviceMax: 0x0199, quirks: { singleLun: true } };
    const open = async (bcdDevice: number) => {
      const sim = new SimulatedDevice({ luns: [{}, {}], info: { bcdDevice } });
      return MscDevice.open(sim.transport, {
        quirkRules: [rule],
        onTrace: (e) => {
          if (e.type === 'quirks') events.push(e.rules);
        },
      });
    };
    expect((await open(0x0150)).maxLun).toBe(0);
    expect(events[0]?.[0]).toMatch(/^test bridge \[1209:5553, bcdDevice 0100-0199\] -> singleLun/);
    expect((await open(0x0200)).maxLun).toBe(1);
  });

  it('after INQUIRY, rules match vendor, product and revision', async () => {
    const sim = new SimulatedDevice({ luns: [{ vendor: 'ACME', product: 'Stick', revision: '2.10' }] });
    const device = await MscDevice.open(sim.transport, {
      quirkRules: [
        { description: 'old firmware', inquiryVendor: 'ACME', inquiryProduct: 'Stick', inquiryRevision: '1.00', quirks: { noVpdPages: true } },
        { description: 'new firmware', inquiryVendor: 'ACME', inquiryProduct: 'Stick', inquiryRevision: '2.10', quirks: { noReportLuns: true } },
      ],
    });
    expect(device.matchedQuirkRules.map((r) => r.description)).toEqual(['new firmware']);
    expect(device.quirks.noReportLuns).toBe(true);
    expect(device.quirks.noVpdPages).toBe(false);
  });

  it('the quirks option wins over every rule', async () => {
    const sim = new SimulatedDevice({ info: { vendorId: 0x1e74, productId: 0x4621, bcdDevice: 0 } });
    const device = await MscDevice.open(sim.transport, { quirks: { ignoreTag: false } });
    expect(device.matchedQuirkRules.map((r) => r.description)).toEqual(['Coby Electronics MP3 Player']);
    expect(device.quirks.ignoreTag).toBe(false);
    expect(device.quirks.maxTransferBytes).toBe(32768);
  });
});
