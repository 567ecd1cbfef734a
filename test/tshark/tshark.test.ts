/**
 * usbms's pcap captures read by Debian's tshark, an independent dissector of
 * usbmon captures, USB Mass Storage (packet-usbms-bot.c) and SCSI: every
 * command must come out with the opcode, LUN, data length, status and sense
 * usbms saw, and stalls, clear-halts and the Bulk-Only reset as USB events.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChunkCollector, type ExecuteResult, MscDevice, PcapWriter, RecordingTransport } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'usbms-tshark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What usbms itself says each command was: the oracle tshark's reading is compared with. */
interface Expected {
  opcode: number;
  lun: number;
  length: number;
  status: number;
  residue: number;
  sense?: [number, number, number];
}

const FIELDS = [
  'frame.number',
  'usb.urb_type',
  'usb.endpoint_address',
  'usb.urb_status',
  'usb.urb_len',
  'usb.data_len',
  'usb.setup.bRequest',
  'usb.setup.wEndpoint',
  'usbms.setup.bRequest',
  'usbms.dCBWTag',
  'usbms.dCBWLUN',
  'usbms.dCBWDataTransferLength',
  'usbms.dCSWStatus',
  'usbms.dCSWDataResidue',
  'scsi_sbc.opcode',
  'scsi.spc.opcode',
  'scsi.sns.key',
  'scsi.sns.asc',
  'scsi.sns.ascq',
  'scsi_sbc.rdwr10.lba',
  'scsi_sbc.rdwr10.xferlen',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

function tshark(file: string): Row[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const cells = line.split('\t');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cells[i] ?? ''])) as Row;
    });
}

const num = (text: string): number => (text === '' ? Number.NaN : Number(text));

async function simulatorCapture(): Promise<{ file: string; expected: Expected[] }> {
  const sim = new SimulatedDevice({
    luns: [{ blocks: 4096, blockSize: 512 }],
    // Vendor commands: C0 returns 32 bytes, C1 takes data out.
    vendorCommand: (cdb, dataOut) => {
      if (cdb[0] === 0xc0) return { status: 'good', data: Uint8Array.from({ length: 32 }, (_, i) => i) };
      if (cdb[0] === 0xc1) return { status: dataOut.length === 64 ? 'good' : 'check-condition' };
      return undefined;
    },
  });
  const recording = new RecordingTransport(sim.transport);
  const sink = new ChunkCollector();
  const pcap = new PcapWriter(sink, { info: recording.info });
  recording.on((event) => pcap.record(event));
  const expected: Expected[] = [];
  const device = await MscDevice.open(recording, { readOnly: false });
  // INQUIRY at open.
  expected.push({ opcode: 0x12, lun: 0, length: 36, status: 0, residue: 0 });
  const run = async (cdb: number[], direction: 'in' | 'out' | 'none', length: number, data?: Uint8Array): Promise<ExecuteResult> => {
    const result = await device.execute({
      cdb: Uint8Array.from(cdb),
      direction,
      ...(direction === 'in' ? { length } : {}),
      ...(data === undefined ? {} : { data }),
    });
    expected.push({ opcode: cdb[0] ?? 0, lun: 0, length, status: result.statusCode === 0 ? 0 : 1, residue: result.residue });
    if (result.sense !== undefined) {
      // The automatic REQUEST SENSE (SPC-4 §4.5) that fetched it.
      expected.push({ opcode: 0x03, lun: 0, length: 18, status: 0, residue: 0, sense: [result.sense.senseKey, result.sense.asc, result.sense.ascq] });
    }
    return result;
  };
  // READ(10) 8 blocks at 16; WRITE(10) 4 blocks at 100.
  await run([0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0], 'in', 4096);
  await run([0x2a, 0, 0, 0, 0, 100, 0, 0, 4, 0], 'out', 2048, new Uint8Array(2048).fill(0x5a));
  // Vendor data-in and data-out.
  await run([0xc0, 0, 0, 0, 0, 0, 0, 0, 32, 0], 'in', 32);
  await run([0xc1, 0, 0, 0, 0, 0, 0, 0, 64, 0], 'out', 64, new Uint8Array(64).fill(1));
  // CHECK CONDITION with sense: READ(10) past the last LBA -> ILLEGAL REQUEST 05/21/00.
  const past = await run([0x28, 0, 0, 0, 0x20, 0, 0, 0, 1, 0], 'in', 512);
  expect(past.status).toBe('check-condition');
  // A stall: the CSW read of READ(10) stalls once, the host clears the halt and reads it again (BOT 1.0 §6.7.2).
  sim.inject({ kind: 'stall-csw', opcode: 0x28 });
  await run([0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0], 'in', 512);
  // A phase error: Bulk-Only Mass Storage Reset + clear halt of both pipes (BOT 1.0 §5.3.4).
  sim.inject({ kind: 'phase-error', opcode: 0x00 });
  await expect(device.execute({ cdb: Uint8Array.of(0, 0, 0, 0, 0, 0), direction: 'none' })).rejects.toThrow(/phase error/i);
  expected.push({ opcode: 0x00, lun: 0, length: 0, status: 2, residue: 0 });
  await run([0x00, 0, 0, 0, 0, 0], 'none', 0);
  // close(): the WRITE(10) above marked LUN 0, so SYNCHRONIZE CACHE(10) goes out before the release.
  await device.close();
  expected.push({ opcode: 0x35, lun: 0, length: 0, status: 0, residue: 0 });
  const file = join(dir, 'sim.pcap');
  writeFileSync(file, sink.bytes());
  return { file, expected };
}

/** Commands as tshark reads them: each CBW, the CSW with the same tag, the sense in the data stage before it. */
function commandsOf(rows: Row[]): Expected[] {
  const commands: (Expected & { tag: string })[] = [];
  let senseRow: Row | undefined;
  for (const row of rows) {
    if (row['usbms.dCBWLUN'] !== '') {
      commands.push({
        tag: row['usbms.dCBWTag'],
        opcode: num(row['scsi_sbc.opcode'] || row['scsi.spc.opcode']),
        lun: num(row['usbms.dCBWLUN']),
        length: num(row['usbms.dCBWDataTransferLength']),
        status: Number.NaN,
        residue: Number.NaN,
      });
      senseRow = undefined;
    } else if (row['scsi.sns.key'] !== '') senseRow = row;
    else if (row['usbms.dCSWStatus'] !== '') {
      const open = commands.at(-1);
      if (open === undefined) continue;
      open.status = num(row['usbms.dCSWStatus']);
      open.residue = num(row['usbms.dCSWDataResidue']);
      if (senseRow !== undefined) open.sense = [num(senseRow['scsi.sns.key']), num(senseRow['scsi.sns.asc']), num(senseRow['scsi.sns.ascq'])];
    }
  }
  return commands.map(({ tag: _tag, ...rest }) => rest);
}

describe('tshark dissects usbms pcap captures', () => {
  it('every command of a simulator run: opcode, LUN, data length, status, residue and sense as usbms saw them', async () => {
    const { file, expected } = await simulatorCapture();
    const rows = tshark(file);
    expect(commandsOf(rows)).toEqual(expected);
    // Data stages: tshark reads the URB lengths (4096 read, 2048 written, 32 vendor in, 64 vendor out).
    const dataLengths = rows.filter((r) => r['usb.urb_type'] === "'C'" && r['usb.endpoint_address'] === '0x81').map((r) => num(r['usb.urb_len']));
    for (const n of [4096, 32, 36, 18]) expect(dataLengths).toContain(n);
    const outLengths = rows.filter((r) => r['usb.urb_type'] === "'S'" && r['usb.endpoint_address'] === '0x02').map((r) => num(r['usb.urb_len']));
    for (const n of [31, 2048, 64]) expect(outLengths).toContain(n);
    // The data stages were cut at the default snap length (64): 4096 on the wire, 64 in the file.
    const read = rows.find((r) => r['usb.urb_type'] === "'C'" && r['usb.urb_len'] === '4096');
    expect(read?.['usb.data_len']).toBe('64');
    // The stall: a completion with -EPIPE on 0x81, then CLEAR_FEATURE(ENDPOINT_HALT) to endpoint 0x81.
    const stall = rows.findIndex((r) => r['usb.urb_status'] === '-32' && r['usb.endpoint_address'] === '0x81');
    expect(stall).toBeGreaterThan(0);
    const clear = rows.slice(stall).find((r) => r['usb.setup.bRequest'] === '1');
    expect(clear?.['usb.setup.wEndpoint']).toBe('129');
    // The Bulk-Only Mass Storage Reset (class request 0xFF) after the phase error, then clear halt of both pipes.
    const reset = rows.findIndex((r) => r['usbms.setup.bRequest'] === '0xff');
    expect(reset).toBeGreaterThan(stall);
    const halts = rows
      .slice(reset)
      .filter((r) => r['usb.setup.bRequest'] === '1' && r['usb.urb_type'] === "'S'")
      .map((r) => r['usb.setup.wEndpoint']);
    expect(halts.slice(0, 2)).toEqual(['129', '2']);
    // Get Max LUN at open (class request 0xFE).
    expect(rows.some((r) => r['usbms.setup.bRequest'] === '0xfe')).toBe(true);
    // READ(10) CDB fields.
    expect(rows.some((r) => r['scsi_sbc.rdwr10.lba'] === '16' && r['scsi_sbc.rdwr10.xferlen'] === '8')).toBe(true);
  });

  it('tshark -V dissects the sense of the CHECK CONDITION as SCSI over USB Mass Storage', async () => {
    const { file } = await simulatorCapture();
    const verbose = execFileSync('tshark', ['-r', file, '-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    expect(verbose).toContain('USB Mass Storage');
    expect(verbose).toContain('Sense Key: Illegal Request (0x5)');
    expect(verbose).toMatch(/Logical block address out of range/i);
    expect(verbose).toContain('Write(10)');
    expect(verbose).toContain('Phase Error');
  });

  it('a CLI run with --pcap (streamed to the file) dissects with every READ(10) of a dump', () => {
    const bin = fileURLToPath(new URL('../../packages/node/bin/usbms.mjs', import.meta.url));
    const file = join(dir, 'dump.pcap');
    const r = spawnSync(process.execPath, [bin, '--sim', '--sim-size', '1M', '--pcap', file, 'dump', '-o', join(dir, 'img'), '--chunk-blocks', '128'], {
      encoding: 'utf8',
      env: { ...process.env, USBMS_FROM_SOURCE: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const reads = commandsOf(tshark(file)).filter((c) => c.opcode === 0x28);
    expect(reads).toHaveLength(16); // 1 MiB in 128-block READ(10)s
    expect(reads.every((c) => c.length === 65536 && c.status === 0 && c.residue === 0)).toBe(true);
  });
});
