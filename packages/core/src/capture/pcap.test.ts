import { describe, expect, it } from 'vitest';
import { encodeCbw } from '../bot/wrappers.js';
import { ParseError } from '../errors.js';
import type { TransportInfo } from '../transport.js';
import { ChunkCollector, PcapWriter, parsePcap, synthesizedConfigurationDescriptor, usbmonStatus } from './pcap.js';
import type { UrbEvent } from './recording-transport.js';
import { toHex } from './transcript.js';

const h = (s: string): string => s.replace(/\s+|\/\/[^\n]*/g, '');

const info: TransportInfo = {
  maxPacketSizeIn: 512,
  maxPacketSizeOut: 512,
  speed: 'high',
  vendorId: 0x46f4,
  productId: 0x0001,
  interfaceNumber: 0,
  interfaceSubclass: 0x06,
  interfaceProtocol: 0x50,
  endpointIn: 0x81,
  endpointOut: 0x02,
  busNumber: 3,
  deviceAddress: 7,
};

// 2026-01-02T03:04:05.250Z
const T0 = 1_767_323_045_250;

function writer(snapLength?: number): { sink: ChunkCollector; pcap: PcapWriter } {
  const sink = new ChunkCollector();
  const pcap = new PcapWriter(sink, { info, startTime: T0, ...(snapLength === undefined ? {} : { snapLength }) });
  return { sink, pcap };
}

describe('PcapWriter', () => {
  it('writes the file header and the synthesized GET_DESCRIPTOR records first (golden bytes)', () => {
    const { sink } = writer();
    expect(sink.chunks).toHaveLength(5);
    // pcap file header: magic a1b2c3d4 (LE), version 2.4, thiszone 0, sigfigs 0, snaplen 64+64, LINKTYPE 220.
    expect(toHex(sink.chunks[0] ?? new Uint8Array())).toBe(h('d4c3b2a1 0200 0400 00000000 00000000 80000000 dc000000'));
    // Submission of GET_DESCRIPTOR(DEVICE): record header, then usbmon's 64 bytes (mon_bin.c struct mon_bin_hdr).
    expect(toHex(sink.chunks[1] ?? new Uint8Array())).toBe(
      h(`
      a5355769 90d00300 40000000 40000000 // ts_sec 1767323045, ts_usec 250000, incl 64, orig 64
      0100ffff00000000                    // URB id 0xffff0001
      53 02 80 07 0300                    // 'S', control, endpoint 0x80, device 7, bus 3
      00 3c                               // setup present, data flag '<' (IN submission: no data)
      a535576900000000 90d00300           // ts_sec (s64), ts_usec (s32)
      8dffffff                            // status -EINPROGRESS (-115)
      12000000 00000000                   // URB length 18, captured 0
      8006000100001200                    // SETUP: GET_DESCRIPTOR(DEVICE), wLength 18 (USB 2.0 §9.4.3)
      00000000 00000000 00020000 00000000 // interval, start frame, transfer flags URB_DIR_IN, ndesc
    `),
    );
    // Completion: status 0, 18 bytes captured: the device descriptor (bcdUSB 2.00, VID 46f4, PID 0001, one configuration).
    expect(toHex(sink.chunks[2] ?? new Uint8Array()).slice(32 + 16, 32 + 32)).toBe(h('43 02 80 07 0300 2d 00')); // 'C', no setup ('-'), data present
    expect(toHex(sink.chunks[2] ?? new Uint8Array()).slice(-36)).toBe(h('12 01 0002 00 00 00 40 f446 0100 0001 00 00 00 01'));
    // The configuration descriptor tells Wireshark the bulk endpoints belong to a class 08 interface.
    expect(toHex(synthesizedConfigurationDescriptor(info))).toBe(
      h('09 02 2000 01 01 00 80 32  09 04 00 00 02 08 06 50 00  07 05 81 02 0002 00  07 05 02 02 0002 00'),
    );
  });

  it('writes submission and completion records of a CBW with data, status and the URB id (golden bytes)', () => {
    const { sink, pcap } = writer();
    const cbw = encodeCbw({ tag: 1, dataTransferLength: 36, direction: 'in', lun: 0, cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0) });
    const base = { id: 9, transfer: 'bulk', endpoint: 0x02, operation: { kind: 'bulk-out' } } as const;
    pcap.record({ ...base, phase: 'submit', time: T0 + 1.5, length: 31, data: cbw });
    pcap.record({ ...base, phase: 'complete', time: T0 + 2, status: 'ok', length: 31 });
    const submit = toHex(sink.chunks[5] ?? new Uint8Array());
    expect(submit).toBe(
      h(`
      a5355769 6cd60300 5f000000 5f000000 // ts 250001.5 us -> 251500, incl 64+31, orig 64+31
      0900000000000000                    // URB id 9
      53 03 02 07 0300 2d 00              // 'S', bulk, endpoint 0x02 OUT, device 7, bus 3, no setup, data present
      a535576900000000 6cd60300
      8dffffff 1f000000 1f000000          // -EINPROGRESS, length 31, captured 31
      0000000000000000 00000000 00000000 00000000 00000000
    `) + toHex(cbw),
    );
    // OUT completion: no data ('>'), length = bytes written.
    expect(toHex(sink.chunks[6] ?? new Uint8Array()).slice(32, 32 + 32)).toBe(h('0900000000000000 43 03 02 07 0300 2d 3e'));
  });

  it('maps statuses to usbmon errnos: stall -EPIPE, babble -EOVERFLOW, timeout -ENOENT, cancel -ECONNRESET', () => {
    expect([usbmonStatus('ok'), usbmonStatus('stall'), usbmonStatus('babble'), usbmonStatus('timeout'), usbmonStatus('cancelled')]).toEqual([
      0, -32, -75, -2, -104,
    ]);
    const { sink, pcap } = writer();
    pcap.record({
      id: 3,
      phase: 'complete',
      time: T0,
      transfer: 'bulk',
      endpoint: 0x81,
      operation: { kind: 'bulk-in', requested: 512 },
      status: 'stall',
      length: 0,
      data: new Uint8Array(0),
    });
    const [record] = parsePcap(sink.bytes()).slice(-1);
    expect(record?.header).toMatchObject({ type: 'C', status: -32, endpoint: 0x81, length: 0 });
  });

  it('cuts data stages at the snap length, keeps CBWs, CSWs and control data whole, and keeps everything with 0', () => {
    const block = new Uint8Array(4096).fill(0xab);
    const csw = Uint8Array.of(0x55, 0x53, 0x42, 0x53, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const events = (id: number): UrbEvent[] => [
      {
        id,
        phase: 'complete',
        time: T0,
        transfer: 'bulk',
        endpoint: 0x81,
        operation: { kind: 'bulk-in', requested: 4096 },
        status: 'ok',
        length: 4096,
        data: block,
      },
      {
        id: id + 1,
        phase: 'complete',
        time: T0,
        transfer: 'bulk',
        endpoint: 0x81,
        operation: { kind: 'bulk-in', requested: 13 },
        status: 'ok',
        length: 13,
        data: csw,
      },
    ];
    for (const [snap, kept] of [
      [undefined, 64],
      [8, 8],
      [0, 4096],
    ] as const) {
      const { sink, pcap } = writer(snap);
      for (const e of events(20)) pcap.record(e);
      const records = parsePcap(sink.bytes());
      const [data, status] = records.slice(-2);
      expect(data?.data.length).toBe(kept);
      expect(data?.header.length).toBe(4096);
      expect(status?.data).toEqual(csw);
    }
  });

  it('skips port resets (no transfer on the device)', () => {
    const { sink, pcap } = writer();
    pcap.record({ id: 1, phase: 'submit', time: T0, transfer: 'none', endpoint: 0, operation: { kind: 'port-reset' }, length: 0 });
    expect(sink.chunks).toHaveLength(5);
    expect(pcap.records).toBe(4);
  });
});

describe('parsePcap', () => {
  it('reads back what the writer wrote', () => {
    const { sink } = writer();
    const records = parsePcap(sink.bytes());
    expect(records.map((r) => [r.header.type, r.header.setup?.[3], r.data.length])).toEqual([
      ['S', 1, 0],
      ['C', undefined, 18],
      ['S', 2, 0],
      ['C', undefined, 32],
    ]);
    expect(records[0]?.time).toBeCloseTo(T0 / 1000, 5);
  });

  it('reads big-endian files and the 48-byte LINKTYPE_USB_LINUX header', () => {
    const file = new Uint8Array(24 + 16 + 48 + 2);
    const v = new DataView(file.buffer);
    v.setUint32(0, 0xa1b2c3d4, false);
    v.setUint32(20, 189, false);
    v.setUint32(24 + 8, 50, false);
    file[40 + 8] = 0x43; // 'C'
    file[40 + 9] = 3;
    file[40 + 10] = 0x81;
    v.setUint32(40 + 32, 2, false);
    v.setUint32(40 + 36, 2, false);
    file[40 + 48] = 0xaa;
    file[40 + 49] = 0xbb;
    const [record] = parsePcap(file);
    expect(record?.header).toMatchObject({ type: 'C', transferType: 3, endpoint: 0x81, length: 2 });
    expect(record?.data).toEqual(Uint8Array.of(0xaa, 0xbb));
  });

  it('rejects hostile input with ParseError: short, bad magic, pcapng, other link types, records past the end', () => {
    const { sink } = writer();
    const good = sink.bytes();
    expect(() => parsePcap(good.subarray(0, 10))).toThrow(ParseError);
    expect(() => parsePcap(new Uint8Array(24))).toThrow(/bad magic/);
    expect(() => parsePcap(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Uint8Array(20)))).toThrow(/pcapng/);
    const ethernet = good.slice(0, 24);
    ethernet[20] = 1;
    expect(() => parsePcap(ethernet)).toThrow(/link type 1/);
    expect(() => parsePcap(good.subarray(0, good.length - 1))).toThrow(/past the end/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(24 + 8, 0xffffffff, true);
    expect(() => parsePcap(huge)).toThrow(ParseError);
    const badType = good.slice();
    badType[24 + 16 + 8] = 0x58;
    expect(() => parsePcap(badType)).toThrow(/event type/);
    for (let cut = 24; cut < good.length; cut += 7) {
      try {
        parsePcap(good.subarray(0, cut));
      } catch (error) {
        expect(error).toBeInstanceOf(ParseError);
      }
    }
  });
});
