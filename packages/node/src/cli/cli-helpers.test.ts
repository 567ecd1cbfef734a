import { readFileSync } from 'node:fs';
import {
  AbortError,
  DisconnectedError,
  decodeSense,
  InvalidArgumentError,
  type LogicalUnit,
  PhaseError,
  ScsiCheckConditionError,
  TimeoutError,
  TransportError,
  VerifyMismatchError,
  WriteProtectedError,
} from '@usbms/core';
import { describe, expect, it } from 'vitest';
import type { MscDeviceInfo } from '../discovery.js';
import { parseCdb, parseHexData } from './cdb.js';
import { CliError, convertErrno, EXIT_CODE_TABLE, ExitCode, exitCodeFor, exitCodeForSense, exitCodeHelp, exitCodeMarkdown, fileError } from './exit.js';
import { formatBytes, hexDump } from './format.js';
import { errorJson, normalizeArgs } from './main.js';
import { dataInHint } from './raw.js';
import { ChunkReader, readAhead } from './read-ahead.js';
import { checkResumable, type DeviceIdentity, type ResumeCheck, sha256 } from './resume.js';
import { diskName, findBlockDevice, parseDeviceChoice } from './select.js';
import { parseCount, parseSize } from './units.js';
import { parseVpdPage, vpdPageName } from './vpd.js';

const sense = (key: number, asc: number, ascq = 0) => decodeSense(new Uint8Array([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]));

describe('exit codes (sg3_utils 1.46 sg_err_category_sense / sg_convert_errno)', () => {
  // [sense key, ASC, ASCQ, exit]: sg_lib.c sg_err_category_sense, release 1.46.
  it.each([
    [0x0, 0x00, 0x00, 20],
    [0x1, 0x17, 0x01, 21],
    [0x2, 0x3a, 0x00, 2],
    [0x3, 0x11, 0x00, 3],
    [0x4, 0x44, 0x00, 3],
    [0x5, 0x20, 0x00, 9],
    [0x5, 0x20, 0x01, 5],
    [0x5, 0x21, 0x00, 22],
    [0x5, 0x21, 0x01, 5],
    [0x5, 0x24, 0x00, 5],
    [0x6, 0x28, 0x00, 6],
    [0x7, 0x27, 0x00, 7],
    [0x8, 0x00, 0x05, 3],
    [0x9, 0x00, 0x00, 98],
    [0xa, 0x00, 0x00, 10],
    [0xb, 0x47, 0x00, 11],
    [0xb, 0x10, 0x01, 40],
    [0xc, 0x00, 0x00, 98],
    [0xd, 0x00, 0x00, 98],
    [0xe, 0x1d, 0x00, 14],
    [0xf, 0x00, 0x00, 98],
  ])('sense %s/%s/%s -> %s', (key, asc, ascq, code) => {
    expect(exitCodeForSense({ senseKey: key, asc, ascq })).toBe(code);
    expect(exitCodeFor(new ScsiCheckConditionError('failed', sense(key, asc, ascq)))).toBe(code);
  });

  it('CHECK CONDITION without sense data is 98 (SG_LIB_CAT_SENSE)', () => {
    expect(exitCodeForSense(undefined)).toBe(98);
  });

  it('ports sg_convert_errno: 50 + errno below 47, 50 otherwise, 0 stays 0', () => {
    expect(convertErrno(0)).toBe(0);
    expect(convertErrno(2)).toBe(52);
    expect(convertErrno(46)).toBe(96);
    expect(convertErrno(47)).toBe(50);
    expect(convertErrno(110)).toBe(50);
    expect(convertErrno(-5)).toBe(50);
  });

  it('maps non-SCSI errors', () => {
    expect(exitCodeFor(new AbortError())).toBe(ExitCode.Interrupted);
    expect(exitCodeFor(new TimeoutError('slow'))).toBe(33);
    expect(exitCodeFor(new WriteProtectedError())).toBe(ExitCode.DataProtect);
    expect(exitCodeFor(new VerifyMismatchError('differs'))).toBe(ExitCode.Miscompare);
    expect(exitCodeFor(new DisconnectedError())).toBe(50 + 19); // ENODEV, as SG_IO on a vanished device
    expect(exitCodeFor(new PhaseError('phase'))).toBe(99);
    expect(exitCodeFor(new InvalidArgumentError('bad'))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(99);
    expect(exitCodeFor(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(52);
    expect(exitCodeFor(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(63);
  });

  it('finds sense data through the cause chain', () => {
    const inner = new ScsiCheckConditionError('inner', sense(0x2, 0x04, 0x02));
    expect(exitCodeFor(new WriteProtectedError('outer', { cause: inner }))).toBe(ExitCode.NotReady);
    expect(exitCodeFor(new TransportError('outer', { cause: inner }))).toBe(ExitCode.NotReady);
  });

  it('reports a file error as FILE with its errno, never as TRANSPORT', () => {
    const e = fileError('cannot write /x/y', '/x/y', Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
    expect(exitCodeFor(e)).toBe(52);
    expect(errorJson(e, 52)).toMatchObject({ error: { code: 'FILE', details: { path: '/x/y', errno: 'ENOENT' } }, exitCode: 52 });
    expect(errorJson(Object.assign(new Error('EPIPE'), { code: 'EPIPE' }), 82)).toMatchObject({ error: { code: 'FILE' } });
    expect(errorJson(new CliError('x', 1), 1)).toMatchObject({ error: { code: 'CLI' } });
  });

  it('the README carries the same table as --help', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(exitCodeMarkdown());
    expect(exitCodeHelp()).toContain(' 22  ILLEGAL REQUEST: LBA out of range (05/21/00)');
  });

  it('has one table with every code the mapping can produce', () => {
    const listed = new Set(EXIT_CODE_TABLE.flatMap((r) => (r.code.includes('-') ? [] : [Number(r.code)])));
    for (const code of Object.values(ExitCode)) expect(listed.has(code)).toBe(true);
  });
});

describe('CLI parsing and formatting helpers', () => {
  it('parses CDBs like sg_raw: one byte per word', () => {
    expect(parseCdb(['12', '0', '0', '0', '24', '0'])).toEqual(new Uint8Array([0x12, 0, 0, 0, 0x24, 0]));
    expect(parseCdb(['0x12', '00', '000', '0', '0x24', 'A'])).toEqual(new Uint8Array([0x12, 0, 0, 0, 0x24, 0x0a]));
    expect(parseCdb(['12 00 00 00 24 00'])).toEqual(new Uint8Array([0x12, 0, 0, 0, 0x24, 0]));
  });

  it('takes one even-length word as the whole CDB and names the word of a mix', () => {
    expect(parseCdb(['120000002400'])).toEqual(new Uint8Array([0x12, 0, 0, 0, 0x24, 0]));
    expect(() => parseCdb(['12', '00', '00', '00', '2400'])).toThrow(/invalid CDB byte "2400".*not a mix/);
    expect(() => parseCdb(['12000002400'])).toThrow(/"12000002400" has an odd number/);
    expect(() => parseCdb(['12', 'zz', '0', '0', '24', '0'])).toThrow(/invalid CDB byte "zz"/);
    expect(() => parseCdb(['12', '0', '0'])).toThrow(/too short/);
    expect(() => parseCdb(Array(17).fill('0'))).toThrow(/too long.*16/);
    expect(() => parseCdb([])).toThrow(/no CDB/);
    try {
      parseCdb(['12', '100', '0', '0', '24', '0']);
    } catch (error) {
      expect(exitCodeFor(error)).toBe(1);
    }
  });

  it('parses --data hex', () => {
    expect(parseHexData('de ad be ef')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(parseHexData('deadbeef')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(parseHexData('0x1,2:0x03')).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => parseHexData('abc')).toThrow(/not hex byte pairs/);
    expect(() => parseHexData('zz')).toThrow(/hex bytes/);
  });

  it('hints at --in with the allocation length of known data-in commands', () => {
    expect(dataInHint(new Uint8Array([0x12, 0, 0, 0, 0x24, 0]))).toMatch(/add --in 36/);
    expect(dataInHint(new Uint8Array([0xc0, 0, 0, 0, 0, 0]))).toMatch(/--in N/);
  });

  it('parses counts and sizes with sg3_utils units (K/KiB binary, KB decimal)', () => {
    expect(parseCount('0x10')).toBe(16);
    expect(parseCount('10h')).toBe(16);
    expect(parseCount('42')).toBe(42);
    expect(parseCount('-1')).toBeUndefined();
    expect(parseCount('1e3')).toBeUndefined();
    expect(parseSize('64M')).toBe(64 * 1024 * 1024);
    expect(parseSize('64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('64MB')).toBe(64_000_000);
    expect(parseSize('1k')).toBe(1024);
    expect(parseSize('1KB')).toBe(1000);
    expect(parseSize('8KiB')).toBe(8192);
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('2GB')).toBe(2e9);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('0x200')).toBe(512);
    expect(parseSize('512b')).toBeUndefined();
    expect(parseSize('1.5G')).toBeUndefined();
    expect(parseSize('lots')).toBeUndefined();
  });

  it('dumps hex with offsets and ASCII', () => {
    const text = hexDump(new TextEncoder().encode('USBMS disk\x00\x01'), { offset: 0x200 });
    expect(text).toBe('00000200  55 53 42 4d 53 20 64 69  73 6b 00 01              |USBMS disk..|');
    expect(hexDump(new Uint8Array(40), { maxBytes: 16 }).split('\n')).toHaveLength(2);
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
  });

  it('rewrites --sim=FILE so the subcommand is never taken as its value', () => {
    expect(normalizeArgs(['node', 'usbms', '--sim=disk.img', 'tur'])).toEqual(['node', 'usbms', '--sim', '--sim-image', 'disk.img', 'tur']);
    expect(normalizeArgs(['node', 'usbms', '--sim', 'tur'])).toEqual(['node', 'usbms', '--sim', 'tur']);
  });
});

describe('--device choices', () => {
  it('tells indexes, VID:PID and block devices apart, and refuses ambiguous digits', () => {
    expect(parseDeviceChoice('0')).toEqual({ kind: 'index', index: 0 });
    expect(parseDeviceChoice('12')).toEqual({ kind: 'index', index: 12 });
    expect(parseDeviceChoice('0781:5567')).toEqual({ kind: 'id', text: '0781:5567' });
    expect(parseDeviceChoice('/dev/sdb')).toEqual({ kind: 'block', path: '/dev/sdb' });
    expect(() => parseDeviceChoice('0781')).toThrow(/ambiguous/);
    expect(() => parseDeviceChoice('1234')).toThrow(/ambiguous/);
    expect(() => parseDeviceChoice('07')).toThrow(/ambiguous/);
    expect(() => parseDeviceChoice('sdb')).toThrow(/VID:PID/);
  });

  it('maps a disk node (or a partition of it) to the interface that carries it', () => {
    expect(diskName('/dev/sdb1')).toBe('sdb');
    expect(diskName('/dev/sdab')).toBe('sdab');
    expect(diskName('/dev/mmcblk0p1')).toBe('mmcblk0');
    const device = { id: '0781:5567', interfaces: [{ interfaceNumber: 1, blockDevices: ['sdc'] }] } as unknown as MscDeviceInfo;
    expect(findBlockDevice([device], '/dev/sdc2')).toEqual({ device, interfaceNumber: 1 });
    expect(() => findBlockDevice([device], '/dev/disk/by-id/x', '/dev/sda')).toThrow(
      /\/dev\/disk\/by-id\/x \(\/dev\/sda\) is not a disk .*USB disks: \/dev\/sdc \(0781:5567\)/,
    );
  });
});

describe('VPD page names (sg_inq)', () => {
  it('takes sg_inq abbreviations and numbers', () => {
    expect(parseVpdPage('sn')).toBe(0x80);
    expect(parseVpdPage('di')).toBe(0x83);
    expect(parseVpdPage('bl')).toBe(0xb0);
    expect(parseVpdPage('bdc')).toBe(0xb1);
    expect(parseVpdPage('ai')).toBe(0x89);
    expect(parseVpdPage('0x80')).toBe(0x80);
    expect(parseVpdPage('176')).toBe(0xb0);
    expect(() => parseVpdPage('nope')).toThrow(/sn, di/);
    expect(() => parseVpdPage('0x100')).toThrow(/0-255/);
    expect(vpdPageName(0xb2)).toBe('Logical block provisioning (SBC) [lbpv]');
    expect(vpdPageName(0xc3)).toBe('vendor specific');
  });
});

describe('readAhead: read calls with the next one queued while one runs', () => {
  /** Calls that end when the test says; a log of starts, ends and handled values. */
  const harness = () => {
    const log: string[] = [];
    const ends: ((ok: boolean) => void)[] = [];
    const start = (i: number): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        log.push(`start ${i}`);
        ends[i] = (ok) => {
          log.push(`end ${i}`);
          if (ok) resolve(i);
          else reject(new Error(`call ${i} failed`));
        };
      });
    const settle = () => new Promise((r) => setTimeout(r, 0));
    return { log, ends, start, settle };
  };

  it('starts each next call before the one before ended, and handles each in order before the call after the next starts', async () => {
    const { log, ends, start, settle } = harness();
    const run = readAhead(3, start, async (i, v) => {
      log.push(`each ${i}=${v}`);
      await settle();
      log.push(`each ${i} done`);
    });
    await settle();
    expect(log).toEqual(['start 0', 'start 1']);
    ends[0]?.(true);
    await settle();
    await settle();
    ends[1]?.(true);
    await settle();
    await settle();
    ends[2]?.(true);
    await run;
    expect(log).toEqual([
      'start 0',
      'start 1',
      'end 0',
      'each 0=0',
      'each 0 done',
      'start 2',
      'end 1',
      'each 1=1',
      'each 1 done',
      'end 2',
      'each 2=2',
      'each 2 done',
    ]);
  });

  it('a failed call rejects only after the call queued behind it has ended (nothing is left running)', async () => {
    const { log, ends, start, settle } = harness();
    let outcome: unknown;
    const run = readAhead(4, start, () => undefined).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    void run.then((o) => {
      outcome = o;
    });
    await settle();
    ends[0]?.(false);
    await settle();
    expect(outcome).toBeUndefined();
    ends[1]?.(true);
    await settle();
    expect(String(outcome)).toContain('call 0 failed');
    expect(log).toEqual(['start 0', 'start 1', 'end 0', 'end 1']);
  });

  it('a failure while handling a value waits for the call behind it too; no call is started after it', async () => {
    const { log, ends, start, settle } = harness();
    const run = readAhead(5, start, (i) => {
      if (i === 1) throw new Error('disk full');
    }).catch((e: unknown) => e);
    await settle();
    ends[0]?.(true);
    await settle();
    ends[1]?.(true);
    await settle();
    ends[2]?.(true);
    expect(String(await run)).toContain('disk full');
    expect(log).toEqual(['start 0', 'start 1', 'end 0', 'start 2', 'end 1', 'end 2']);
  });

  it('no calls: nothing runs', async () => {
    let started = 0;
    await readAhead(
      0,
      async () => started++,
      () => undefined,
    );
    expect(started).toBe(0);
  });
});

describe('ChunkReader: an image file read one chunk ahead of the device writes', () => {
  /** A 10-block "file" (block size 4, block i filled with i); reads logged by first block. */
  const file = () => {
    const bytes = new Uint8Array(40).map((_, i) => Math.floor(i / 4));
    const reads: number[] = [];
    const read = async (into: Uint8Array, position: number): Promise<number> => {
      reads.push(position / 4);
      await new Promise((r) => setTimeout(r, 1));
      const part = bytes.subarray(position, position + into.length);
      into.set(part);
      return part.length;
    };
    return { reads, read };
  };

  it('reads the next chunk while the one taken is in use, alternating two buffers, up to the end', async () => {
    const { reads, read } = file();
    const chunks = new ChunkReader(3, 10, 4, read);
    const seen: number[][] = [];
    const views = new Set<ArrayBufferLike>();
    for (let at = 0; at < 10; ) {
      const chunk = await chunks.take(at);
      // The next chunk was asked for before this one is used.
      if (at + 3 < 10) expect(reads).toContain(at + 3);
      expect(await chunk.bytesRead).toBe(chunk.view.length);
      seen.push([...chunk.view].filter((_, i) => i % 4 === 0));
      views.add(chunk.view.buffer);
      at += chunk.view.length / 4;
    }
    expect(seen).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(reads).toEqual([0, 3, 6, 9]);
    expect(views.size).toBe(2);
    await chunks.settle();
  });

  it('a take elsewhere than the chunk read ahead (the device took part of a chunk) waits for that read and reads anew', async () => {
    const { reads, read } = file();
    const chunks = new ChunkReader(4, 10, 4, read);
    const first = await chunks.take(0);
    await first.bytesRead;
    expect(reads).toEqual([0, 4]);
    // The device took 2 of 4 blocks: go on at block 2.
    const again = await chunks.take(2);
    expect(await again.bytesRead).toBe(16);
    expect([...again.view].filter((_, i) => i % 4 === 0)).toEqual([2, 3, 4, 5]);
    expect(reads).toEqual([0, 4, 2, 6]);
    await chunks.settle();
  });
});

describe('checkResumable: a recorded dump or restore resumes only on its device, range and data', () => {
  const block = (fill: number): Uint8Array => new Uint8Array(512).fill(fill);
  const identity: DeviceIdentity = { usb: '1209:5553', serial: 'S1', vendor: 'USBMS', product: 'Disk', revision: '1.0', lun: 0, blocks: 64, blockSize: 512 };
  const onDevice = [block(1), block(2), block(3)];
  const lu = { read: async (lba: number) => onDevice[lba] ?? block(0) } as unknown as LogicalUnit;
  const recorded = { identity, samples: [0, 1, 2].map((lba) => ({ lba, sha256: sha256(onDevice[lba] ?? block(0)) })) };
  const check = (over: Partial<ResumeCheck> = {}): ResumeCheck => ({
    what: 'the dump in x.partial',
    progressPath: 'x.partial.json',
    current: identity,
    startOver: 'usbms dump -o x --no-resume',
    otherDevice: (fields) => `another device (${fields} differ)`,
    changed: (lba) => `block ${lba} changed`,
    ...over,
  });
  const refusal = async (p: Promise<void>): Promise<string> =>
    p.then(
      () => 'resumed',
      (e: unknown) => (e instanceof CliError ? `${e.exitCode} ${e.message.split('\n')[0]}` : String(e)),
    );

  it('resumes when the identity, the range and the sampled blocks all match', async () => {
    expect(await refusal(checkResumable(lu, recorded, check(), {}))).toBe('resumed');
  });

  it('refuses, in that order: another device, another range, a changed block', async () => {
    const other = { ...identity, serial: 'S2', blocks: 128 };
    expect(await refusal(checkResumable(lu, recorded, check({ current: other, otherRange: 'other range' }), {}))).toBe(
      '99 refusing to resume the dump in x.partial: another device (serial, blocks differ)',
    );
    expect(await refusal(checkResumable(lu, recorded, check({ otherRange: 'it covers LBA 0+64, this command LBA 8+64' }), {}))).toBe(
      '99 refusing to resume the dump in x.partial: it covers LBA 0+64, this command LBA 8+64',
    );
    onDevice[1] = block(9);
    expect(await refusal(checkResumable(lu, recorded, check(), {}))).toBe('99 refusing to resume the dump in x.partial: block 1 changed');
  });
});
