import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { SimulatedDevice } from './device.js';
import { RamStore, type SimBackingStore } from './store.js';
import { cdb10, cdb16, fromHex, hex, pattern, run, senseOf } from './test-util.js';

const ascii = (s: string) => hex(new TextEncoder().encode(s));

describe('INQUIRY (SPC-4 §6.4)', () => {
  it('returns 36 bytes of standard data: type, RMB, version, format, vendor/product/revision padded with spaces', async () => {
    const sim = new SimulatedDevice({ luns: [{ vendor: 'ACME', product: 'Flash', revision: '2.1', version: 0x05 }] });
    const r = await run(sim, [0x12, 0, 0, 0, 96, 0], { in: 96 });
    expect(r.status).toBe(0);
    expect(r.residue).toBe(60);
    expect(hex(r.data)).toBe(`008005021f000000${ascii('ACME    ')}${ascii('Flash           ')}${ascii('2.1 ')}`);
  });

  it('honours the allocation length (bytes 3-4) and reports non-removable CD-ROM type', async () => {
    const sim = new SimulatedDevice({ luns: [{ peripheralType: 5, removable: false }] });
    const r = await run(sim, [0x12, 0, 0, 0, 5, 0], { in: 5 });
    expect(r.status).toBe(0);
    expect(r.residue).toBe(0);
    expect(hex(r.data)).toBe('050006021f');
  });

  it('rejects a page code with EVPD=0 as INVALID FIELD IN CDB pointing at byte 2', async () => {
    const sim = new SimulatedDevice();
    const r = await run(sim, [0x12, 0, 0x80, 0, 36, 0], { in: 36 });
    expect(r.status).toBe(1);
    const s = await senseOf(sim);
    expect([s.key, s.asc, s.ascq]).toEqual([5, 0x24, 0]);
    // SKSV | C/D, field pointer 0x0002
    expect(hex(s.raw.subarray(15, 18))).toBe('c00002');
  });

  it('answers VPD 0x00, 0x80, 0x83, 0xB0 and 0xB1', async () => {
    const sim = new SimulatedDevice({
      luns: [{ serialNumber: 'ABC123', vendor: 'ACME', product: 'Stick', maxTransferLength: 256, optimalTransferLength: 64 }],
    });
    const page = async (p: number) => (await run(sim, [0x12, 1, p, 0, 0xfc, 0], { in: 0xfc })).data;
    expect(hex(await page(0x00))).toBe('00000005' + '008083b0b1');
    expect(hex(await page(0x80))).toBe(`00800006${ascii('ABC123')}`);
    const id = ascii('ACME    ') + ascii('Stick           ') + ascii('ABC123');
    expect(hex(await page(0x83))).toBe(`008300220201001e${id}`);
    const b0 = await page(0xb0);
    expect(b0.length).toBe(64);
    expect(hex(b0.subarray(0, 16))).toBe('00b0003c' + '00000000' + '00000100' + '00000040');
    const b1 = await page(0xb1);
    expect(hex(b1.subarray(0, 8))).toBe('00b1003c' + '00010000');
  });

  it('rejects unknown VPD pages, and every page when vpdPages is false (like the f_mass_storage gadget)', async () => {
    const sim = new SimulatedDevice({ luns: [{}, { vpdPages: false }] });
    expect((await run(sim, [0x12, 1, 0xb2, 0, 0xfc, 0], { in: 0xfc })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x24, ascq: 0 });
    expect((await run(sim, [0x12, 1, 0x00, 0, 0xfc, 0], { in: 0xfc, lun: 1 })).status).toBe(1);
    expect(await senseOf(sim, 1)).toMatchObject({ key: 5, asc: 0x24, ascq: 0 });
  });

  it('answers a LUN beyond Get Max LUN with peripheral qualifier 3 / type 1Fh and fails other commands with 05/25/00', async () => {
    const sim = new SimulatedDevice();
    const r = await run(sim, [0x12, 0, 0, 0, 36, 0], { in: 36, lun: 3 });
    expect(r.data[0]).toBe(0x7f);
    expect((await run(sim, [0, 0, 0, 0, 0, 0], { lun: 3 })).status).toBe(1);
    expect(await senseOf(sim, 3)).toMatchObject({ key: 5, asc: 0x25, ascq: 0 });
    const luns = await run(sim, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0], { in: 0x40, lun: 3 });
    expect(hex(luns.data)).toBe('00000008000000000000000000000000');
  });
});

describe('REQUEST SENSE (SPC-4 §6.29)', () => {
  it('reports NO SENSE when nothing is pending (like the captured devices)', async () => {
    const sim = new SimulatedDevice();
    const r = await run(sim, [0x03, 0, 0, 0, 18, 0], { in: 18 });
    expect(hex(r.data)).toBe('700000000000000a00000000000000000000');
  });

  it('reports the last CHECK CONDITION once, in fixed and descriptor format', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 100 }] });
    expect((await run(sim, cdb10(0x28, 100, 1), { in: 512 })).status).toBe(1);
    const fixed = await run(sim, [0x03, 0, 0, 0, 18, 0], { in: 18 });
    // VALID | 70h, key 5, INFORMATION = LBA 100, ASC 21h
    expect(hex(fixed.data)).toBe('f00005000000640a00000000210000000000');
    expect((await senseOf(sim)).key).toBe(0);

    expect((await run(sim, cdb10(0x28, 0x1234, 1), { in: 512 })).status).toBe(1);
    const desc = await run(sim, [0x03, 1, 0, 0, 252, 0], { in: 252 });
    // 72h header, additional length 12, information descriptor (type 0, len 0Ah, VALID, LBA 0x1234)
    expect(hex(desc.data)).toBe('72052100' + '0000000c' + '000a8000' + '0000000000001234');
  });

  it('encodes the sense-key-specific field pointer as a descriptor (type 02h) in descriptor format', async () => {
    const sim = new SimulatedDevice();
    await run(sim, [0x12, 0, 0x80, 0, 36, 0], { in: 36 });
    const desc = await run(sim, [0x03, 1, 0, 0, 252, 0], { in: 252 });
    expect(hex(desc.data)).toBe('72052400' + '00000008' + '02060000' + 'c0000200');
  });

  it('honours its allocation length', async () => {
    const sim = new SimulatedDevice();
    const r = await run(sim, [0x03, 0, 0, 0, 8, 0], { in: 18 });
    expect(r.data.length).toBe(8);
    expect(r.residue).toBe(10);
  });

  it('an empty slot reports MEDIUM NOT PRESENT when polled', async () => {
    const sim = new SimulatedDevice({ luns: [{ mediumPresent: false }] });
    expect(await senseOf(sim)).toMatchObject({ key: 2, asc: 0x3a, ascq: 0 });
  });
});

describe('READ CAPACITY (SBC-3 §5.16, §5.17)', () => {
  it('(10) returns the last LBA and block length (captured QEMU disk layout)', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 0x20000 }] });
    const r = await run(sim, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 });
    expect(hex(r.data)).toBe('0001ffff00000200');
  });

  it('(10) reports FFFFFFFFh when the capacity needs READ CAPACITY(16), which returns the real value', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 2 ** 33, blockSize: 4096 }] });
    const r10 = await run(sim, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 });
    expect(hex(r10.data)).toBe('ffffffff00001000');
    const r16 = await run(sim, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { in: 32 });
    expect(hex(r16.data)).toBe(`00000001ffffffff00001000${'00'.repeat(20)}`);
  });

  it('(16) honours the allocation length; other SERVICE ACTION IN actions are invalid fields', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 2048 }] });
    const r = await run(sim, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0], { in: 32 });
    expect(hex(r.data)).toBe('00000000000007ff00000800');
    expect(r.residue).toBe(20);
    expect((await run(sim, [0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { in: 32 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x24 });
  });

  it('fails with NOT READY / MEDIUM NOT PRESENT on an empty slot (captured empty CD-ROM)', async () => {
    const sim = new SimulatedDevice({ luns: [{ mediumPresent: false }] });
    expect((await run(sim, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 })).status).toBe(1);
    expect(hex((await senseOf(sim)).raw)).toBe('700002000000000a000000003a0000000000');
  });
});

describe('READ / WRITE (SBC-3 §5.x)', () => {
  for (const blockSize of [512, 2048, 4096]) {
    it(`round-trips data with WRITE(10)/READ(10), WRITE(16)/READ(16) and WRITE(6)/READ(6) at ${blockSize}-byte blocks`, async () => {
      const sim = new SimulatedDevice({ luns: [{ blockSize, blocks: 1000 }] });
      const a = pattern(3 * blockSize, 1);
      expect((await run(sim, cdb10(0x2a, 10, 3), { out: a })).status).toBe(0);
      const ra = await run(sim, cdb10(0x28, 10, 3), { in: 3 * blockSize });
      expect(ra.status).toBe(0);
      expect(ra.data).toEqual(a);

      const b = pattern(2 * blockSize, 2);
      expect((await run(sim, cdb16(0x8a, 998, 2), { out: b })).status).toBe(0);
      expect((await run(sim, cdb16(0x88, 998, 2), { in: 2 * blockSize })).data).toEqual(b);

      const c = pattern(blockSize, 3);
      expect((await run(sim, [0x0a, 0, 0, 5, 1, 0], { out: c })).status).toBe(0);
      expect((await run(sim, [0x08, 0, 0, 5, 1, 0], { in: blockSize })).data).toEqual(c);
      expect(sim.stats.bytesWritten).toBe(6 * blockSize);
    });
  }

  it('READ(6) with transfer length 0 reads 256 blocks', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 1000 }] });
    const r = await run(sim, [0x08, 0, 0, 0, 0, 0], { in: 256 * 512 });
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(256 * 512);
  });

  it('READ(10) with transfer length 0 transfers nothing and succeeds', async () => {
    const sim = new SimulatedDevice();
    const r = await run(sim, cdb10(0x28, 0, 0));
    expect(r.status).toBe(0);
  });

  it('rejects a range past the last block with 05/21/00 and INFORMATION = the LBA; the last block itself works', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 100 }] });
    expect((await run(sim, cdb10(0x28, 99, 1), { in: 512 })).status).toBe(0);
    const r = await run(sim, cdb10(0x28, 99, 2), { in: 1024 });
    expect(r.status).toBe(1);
    // BOT 1.0 §6.7.2 case 4: the device sends no data and stalls; residue is all of it.
    expect(r.raw.dataStatus).toBe('stall');
    expect(r.residue).toBe(1024);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x21, ascq: 0, info: 99 });
    expect((await run(sim, cdb10(0x2a, 100, 1), { out: new Uint8Array(512) })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x21, info: 100 });
  });

  it('rejects a transfer above the Block Limits maximum with 05/24/00 pointing at the length field', async () => {
    const sim = new SimulatedDevice({ luns: [{ maxTransferLength: 8 }] });
    expect((await run(sim, cdb10(0x28, 0, 8), { in: 4096 })).status).toBe(0);
    expect((await run(sim, cdb10(0x28, 0, 9), { in: 4608 })).status).toBe(1);
    const s = await senseOf(sim);
    expect(s).toMatchObject({ key: 5, asc: 0x24 });
    expect(hex(s.raw.subarray(15, 18))).toBe('c00007');
  });

  it('refuses writes on write-protected media with 07/27/00 and sets the MODE SENSE WP bit', async () => {
    const sim = new SimulatedDevice({ luns: [{ writeProtected: true }] });
    expect((await run(sim, cdb10(0x2a, 0, 1), { out: new Uint8Array(512) })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 7, asc: 0x27, ascq: 0 });
    const ms = await run(sim, [0x1a, 0, 0x3f, 0, 0xc0, 0], { in: 0xc0 });
    expect((ms.data[2] ?? 0) & 0x80).toBe(0x80);
    // Reads still work.
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).status).toBe(0);
  });

  it('writes through a caller-supplied backing store', async () => {
    const written: Array<[number, number]> = [];
    const ram = new RamStore();
    const store: SimBackingStore = {
      read: (o, n) => ram.read(o, n),
      write: (o, d) => {
        written.push([o, d.length]);
        ram.write(o, d);
      },
      flush: () => ram.flush(),
    };
    const sim = new SimulatedDevice({ luns: [{ store, writeCache: false }] });
    await run(sim, cdb10(0x2a, 4, 2), { out: pattern(1024, 9) });
    expect(written).toEqual([[2048, 1024]]);
    expect(ram.read(2048, 1024)).toEqual(pattern(1024, 9));
  });
});

describe('write cache, SYNCHRONIZE CACHE and power cut', () => {
  it('keeps writes in the volatile cache until SYNCHRONIZE CACHE(10); a power cut loses them', async () => {
    const ram = new RamStore();
    const sim = new SimulatedDevice({ luns: [{ store: ram }] });
    await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 1) });
    expect(sim.lun(0).dirtyBlocks).toBe(1);
    expect(ram.read(0, 512)).toEqual(new Uint8Array(512));
    // The host sees its own write.
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).data).toEqual(pattern(512, 1));
    expect((await run(sim, cdb10(0x35, 0, 0))).status).toBe(0);
    expect(ram.read(0, 512)).toEqual(pattern(512, 1));
    expect(ram.flushes).toBe(1);
    expect(sim.stats.flushes).toBe(1);

    await run(sim, cdb10(0x2a, 1, 1), { out: pattern(512, 2) });
    sim.powerCut();
    expect(sim.connected).toBe(false);
    sim.reconnect();
    expect((await run(sim, cdb10(0x28, 0, 2), { in: 1024 })).data).toEqual(new Uint8Array([...pattern(512, 1), ...new Uint8Array(512)]));
  });

  it('SYNCHRONIZE CACHE(16) flushes too', async () => {
    const ram = new RamStore();
    const sim = new SimulatedDevice({ luns: [{ store: ram }] });
    await run(sim, cdb10(0x2a, 7, 1), { out: pattern(512, 4) });
    expect((await run(sim, cdb16(0x91, 0, 0))).status).toBe(0);
    expect(ram.read(7 * 512, 512)).toEqual(pattern(512, 4));
  });

  it('with the cache disabled, or FUA set, writes reach the store at once and survive a power cut', async () => {
    const ram = new RamStore();
    const sim = new SimulatedDevice({ luns: [{ store: ram, writeCache: false }, { store: new RamStore() }] });
    await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 5) });
    await run(sim, cdb10(0x2a, 3, 1, 0x08), { out: pattern(512, 6), lun: 1 });
    sim.powerCut();
    sim.reconnect();
    expect(ram.read(0, 512)).toEqual(pattern(512, 5));
    expect((await run(sim, cdb10(0x28, 3, 1), { in: 512, lun: 1 })).data).toEqual(pattern(512, 6));
  });

  it('the caching mode page reports WCE as configured', async () => {
    const on = new SimulatedDevice();
    const off = new SimulatedDevice({ luns: [{ writeCache: false }] });
    const page = async (sim: SimulatedDevice) => (await run(sim, [0x1a, 0x08, 0x08, 0, 0xff, 0], { in: 0xff })).data;
    expect(hex(await page(on))).toBe(`17001000081204${'00'.repeat(17)}`);
    expect(hex(await page(off))).toBe(`17001000081200${'00'.repeat(17)}`);
  });
});

describe('VERIFY(10) (SBC-3 §5.33)', () => {
  it('BYTCHK 0 checks the medium without data; BYTCHK 1 compares data-out and reports MISCOMPARE', async () => {
    const sim = new SimulatedDevice();
    await run(sim, cdb10(0x2a, 2, 2), { out: pattern(1024, 3) });
    expect((await run(sim, cdb10(0x2f, 2, 2))).status).toBe(0);
    expect((await run(sim, cdb10(0x2f, 2, 2, 0x02), { out: pattern(1024, 3) })).status).toBe(0);
    const bad = pattern(1024, 3);
    bad[700] = (bad[700] ?? 0) ^ 0xff;
    expect((await run(sim, cdb10(0x2f, 2, 2, 0x02), { out: bad })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 0x0e, asc: 0x1d, ascq: 0, info: 700 });
  });

  it('reports MEDIUM ERROR for an injected bad LBA', async () => {
    const sim = new SimulatedDevice();
    sim.inject({ kind: 'medium-error', lba: 5 });
    expect((await run(sim, cdb10(0x2f, 4, 4))).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 3, asc: 0x11, ascq: 0, info: 5 });
  });
});

describe('MODE SENSE (SPC-4 §6.11, §6.12)', () => {
  it('(6) all pages: header, block descriptor, error recovery, caching and informational exceptions pages', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 0x20000 }] });
    const r = await run(sim, [0x1a, 0, 0x3f, 0, 0xc0, 0], { in: 0xc0 });
    expect(hex(r.data)).toBe(
      '37001008' + '00020000' + '00000200' + '010a8000000000000000000' + '0' + '0812040000000000000000000000000000000000' + '1c0a00000000000000000000',
    );
  });

  it('(10) has an 8-byte header with the WP bit in byte 3; DBD drops the block descriptor', async () => {
    const sim = new SimulatedDevice({ luns: [{ writeProtected: true }] });
    const r = await run(sim, [0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc });
    expect(hex(r.data.subarray(0, 8))).toBe('001a009000000000');
    expect(hex(r.data.subarray(8, 10))).toBe('0812');
  });

  it('rejects saved values (05/39/00) and unknown pages (05/24/00)', async () => {
    const sim = new SimulatedDevice();
    expect((await run(sim, [0x1a, 0, 0xc8, 0, 0xc0, 0], { in: 0xc0 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x39 });
    expect((await run(sim, [0x1a, 0, 0x0a, 0, 0xc0, 0], { in: 0xc0 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x24 });
  });

  it('works without a medium (captured empty CD-ROM answers MODE SENSE)', async () => {
    const sim = new SimulatedDevice({ luns: [{ mediumPresent: false }] });
    expect((await run(sim, [0x1a, 0, 0x3f, 0, 0xc0, 0], { in: 0xc0 })).status).toBe(0);
  });
});

describe('START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL', () => {
  it('eject makes the medium absent; load brings it back with UNIT ATTENTION 28/00', async () => {
    const sim = new SimulatedDevice();
    expect((await run(sim, [0x1b, 0, 0, 0, 0x02, 0])).status).toBe(0);
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 2, asc: 0x3a, ascq: 0 });
    expect((await run(sim, [0x1b, 0, 0, 0, 0x03, 0])).status).toBe(0);
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 6, asc: 0x28, ascq: 0 });
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(0);
  });

  it('refuses eject while removal is prevented (05/53/02), allows it after ALLOW', async () => {
    const sim = new SimulatedDevice();
    expect((await run(sim, [0x1e, 0, 0, 0, 0x01, 0])).status).toBe(0);
    expect((await run(sim, [0x1b, 0, 0, 0, 0x02, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x53, ascq: 2 });
    expect(sim.lun(0).mediumPresent).toBe(true);
    await run(sim, [0x1e, 0, 0, 0, 0x00, 0]);
    expect((await run(sim, [0x1b, 0, 0, 0, 0x02, 0])).status).toBe(0);
    expect(sim.lun(0).mediumPresent).toBe(false);
  });

  it('eject writes the cache back first; stop makes media access fail 02/04/02 until start', async () => {
    const ram = new RamStore();
    const sim = new SimulatedDevice({ luns: [{ store: ram }] });
    await run(sim, cdb10(0x2a, 0, 1), { out: pattern(512, 8) });
    await run(sim, [0x1b, 0, 0, 0, 0x00, 0]);
    expect(ram.read(0, 512)).toEqual(pattern(512, 8));
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 2, asc: 0x04, ascq: 0x02 });
    await run(sim, [0x1b, 0, 0, 0, 0x01, 0]);
    expect((await run(sim, cdb10(0x28, 0, 1), { in: 512 })).status).toBe(0);
  });
});

describe('REPORT LUNS and READ FORMAT CAPACITIES', () => {
  it('REPORT LUNS lists every LUN (captured two-LUN QEMU layout)', async () => {
    const sim = new SimulatedDevice({ luns: [{}, {}] });
    const r = await run(sim, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0], { in: 0x40 });
    expect(hex(r.data)).toBe('000000100000000000000000000000000001000000000000');
  });

  it('REPORT LUNS rejects an allocation length below 16', async () => {
    const sim = new SimulatedDevice();
    expect((await run(sim, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0], { in: 8 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x24 });
  });

  it('READ FORMAT CAPACITIES returns a formatted-media descriptor (captured gadget layout), or fails if unsupported', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 0x20000 }, { readFormatCapacities: false }] });
    const r = await run(sim, [0x23, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc });
    expect(hex(r.data)).toBe('000000080002000002000200');
    expect((await run(sim, [0x23, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc, lun: 1 })).status).toBe(1);
    expect(await senseOf(sim, 1)).toMatchObject({ key: 5, asc: 0x20 });
  });
});

describe('UNIT ATTENTION and NOT READY', () => {
  it('after power-on every command but INQUIRY / REQUEST SENSE / REPORT LUNS reports 06/29/00 once', async () => {
    const sim = new SimulatedDevice({ unitAttentionOnPowerOn: true });
    expect((await run(sim, [0x12, 0, 0, 0, 36, 0], { in: 36 })).status).toBe(0);
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 6, asc: 0x29, ascq: 0 });
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(0);
  });

  it('an empty card-reader slot fails TEST UNIT READY with 02/3A/00 but answers INQUIRY', async () => {
    const sim = new SimulatedDevice({ luns: [{}, { mediumPresent: false }] });
    expect((await run(sim, [0x12, 0, 0, 0, 36, 0], { in: 36, lun: 1 })).status).toBe(0);
    expect((await run(sim, [0, 0, 0, 0, 0, 0], { lun: 1 })).status).toBe(1);
    expect(await senseOf(sim, 1)).toMatchObject({ key: 2, asc: 0x3a, ascq: 0 });
    sim.lun(1).setMediumPresent(true);
    expect((await run(sim, [0, 0, 0, 0, 0, 0], { lun: 1 })).status).toBe(1);
    expect(await senseOf(sim, 1)).toMatchObject({ key: 6, asc: 0x28 });
    expect((await run(sim, [0, 0, 0, 0, 0, 0], { lun: 1 })).status).toBe(0);
  });

  it('a not-ready fault answers N media-access commands with 02/04/01, not INQUIRY', async () => {
    const sim = new SimulatedDevice();
    const h = sim.inject({ kind: 'not-ready', times: 2 });
    expect((await run(sim, [0x12, 0, 0, 0, 36, 0], { in: 36 })).status).toBe(0);
    for (let i = 0; i < 2; i++) {
      expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(1);
      expect(await senseOf(sim)).toMatchObject({ key: 2, asc: 4, ascq: 1 });
    }
    expect((await run(sim, [0, 0, 0, 0, 0, 0])).status).toBe(0);
    expect(h.done).toBe(true);
    expect(h.hits).toBe(2);
  });

  it('a medium-error fault fails READ over the LBA with 03/11/00, INFORMATION = LBA; other reads work', async () => {
    const sim = new SimulatedDevice();
    sim.inject({ kind: 'medium-error', lba: 12345, times: Infinity });
    expect((await run(sim, cdb10(0x28, 12340, 8), { in: 4096 })).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 3, asc: 0x11, ascq: 0, info: 12345 });
    expect((await run(sim, cdb10(0x28, 12346, 8), { in: 4096 })).status).toBe(0);
    expect((await run(sim, cdb10(0x28, 12345, 1), { in: 512 })).status).toBe(1);
  });
});

describe('unknown opcodes and the vendor hook', () => {
  it('answers an unknown opcode with ILLEGAL REQUEST 05/20/00', async () => {
    const sim = new SimulatedDevice();
    expect((await run(sim, [0xc0, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x20, ascq: 0 });
  });

  it('routes unknown opcodes to the vendor hook: an IN command and an OUT command', async () => {
    const config = new Map<number, Uint8Array>();
    const sim = new SimulatedDevice({
      luns: [{}, {}],
      vendorCommand: (cdb, dataOut, lun) => {
        if (cdb[0] === 0xc1) return { status: 'good', data: new TextEncoder().encode(`FW 1.${lun}`) };
        if (cdb[0] === 0xc2) {
          config.set(cdb[1] ?? 0, dataOut.slice());
          return { status: 'good' };
        }
        if (cdb[0] === 0xc3) return { status: 'check-condition', sense: { key: 5, asc: 0x26, ascq: 0 } };
        return undefined;
      },
    });
    const fw = await run(sim, [0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 64, lun: 1 });
    expect(new TextDecoder().decode(fw.data)).toBe('FW 1.1');
    expect(fw.residue).toBe(58);
    expect((await run(sim, [0xc2, 3, 0, 0, 0, 0], { out: fromHex('01020304') })).status).toBe(0);
    expect(hex(config.get(3) ?? new Uint8Array())).toBe('01020304');
    expect((await run(sim, [0xc3, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x26 });
    expect((await run(sim, [0xc4, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x20 });
    expect(sim.violations).toEqual([]);
  });

  it('supports an async vendor hook (the device NAKs until it answers)', async () => {
    const sim = new SimulatedDevice({
      vendorCommand: async () => {
        await new Promise((r) => setTimeout(r, 5));
        return { status: 'good', data: Uint8Array.of(1, 2, 3) };
      },
    });
    const r = await run(sim, [0xd0, 0, 0, 0, 0, 0], { in: 3 });
    expect(hex(r.data)).toBe('010203');
  });
});

describe('configuration and vendor hook edge cases', () => {
  it('rejects impossible LUN geometry with InvalidArgumentError', () => {
    expect(() => new SimulatedDevice({ luns: [{ blockSize: 0 }] })).toThrow(InvalidArgumentError);
    expect(() => new SimulatedDevice({ luns: [{ blocks: -1 }] })).toThrow(InvalidArgumentError);
    expect(() => new SimulatedDevice({ luns: [] })).toThrow(InvalidArgumentError);
    expect(() => new SimulatedDevice({ luns: new Array(17).fill({}) })).toThrow(InvalidArgumentError);
  });

  it('an async vendor hook receives data-out; a throwing hook is an INTERNAL TARGET FAILURE (04/44/00)', async () => {
    let got = new Uint8Array(0);
    const sim = new SimulatedDevice({
      vendorCommand: async (cdb, dataOut) => {
        await Promise.resolve();
        if (cdb[0] === 0xe1) throw new Error('firmware bug');
        got = dataOut.slice();
        return { status: 'good' };
      },
    });
    expect((await run(sim, [0xe0, 0, 0, 0, 0, 0], { out: Uint8Array.of(9, 8, 7) })).status).toBe(0);
    expect(hex(got)).toBe('090807');
    expect((await run(sim, [0xe1, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(await senseOf(sim)).toMatchObject({ key: 4, asc: 0x44, ascq: 0 });
    expect((await run(sim, [0xe1, 0, 0, 0, 0, 0], { out: Uint8Array.of(1) })).status).toBe(1);
    expect(sim.violations).toEqual([]);
  });
});
