/**
 * `--pcap`, `--pcap-snaplen`, `--record` and `usbms decode` through the real
 * binary against the simulator: files written as the command runs, decoded
 * back, and a recorded transcript that replays.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MscDevice, parsePcap, parseTranscript, ReplayTransport } from '@usbms/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../packages/node/bin/usbms.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function usbms(args: string[], onSpawn?: (pid: number) => void): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tmp,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', USBMS_FROM_SOURCE: '1' },
  });
  onSpawn?.(child.pid ?? 0);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`usbms ${args.join(' ')} did not finish in time\nstderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'usbms-capture-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('usbms --pcap / --record / decode', { timeout: 90_000 }, () => {
  it('captures a command to pcap and transcript; decode prints both as the same commands', async () => {
    const r = await usbms(['--sim', '--pcap', 'inq.pcap', '--record', 'inq.txt', 'inquiry', '--no-vpd']);
    expect(r.code, r.stderr).toBe(0);
    const records = parsePcap(new Uint8Array(await readFile(join(tmp, 'inq.pcap'))));
    // 4 synthesized descriptor records, Get Max LUN (2), two INQUIRYs of 3 stages (S + C each).
    expect(records).toHaveLength(4 + 2 + 12);
    const transcript = parseTranscript(await readFile(join(tmp, 'inq.txt'), 'utf8'));
    expect(transcript.options).toMatchObject({ readOnly: 'true' });
    expect(transcript.steps.map((s) => s.request.kind)).toEqual(['ctrl', 'out', 'in', 'in', 'out', 'in', 'in']);
    const fromPcap = await usbms(['decode', 'inq.pcap']);
    const fromText = await usbms(['decode', 'inq.txt']);
    expect(fromPcap.code).toBe(0);
    expect(fromPcap.stdout).toBe(fromText.stdout);
    expect(fromPcap.stdout).toBe(
      [
        'get-max-lun = 0',
        '#1 LUN 0 INQUIRY alloc=36 in 36/36 -> GOOD residue 0  "USBMS" "Sim Disk" "1.00"',
        '#2 LUN 0 INQUIRY alloc=36 in 36/36 -> GOOD residue 0  "USBMS" "Sim Disk" "1.00"',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await usbms(['decode', 'inq.pcap', '--json'])).stdout) as { commands: { name: string; cdb: string; status: string }[] };
    expect(json.commands.map((c) => [c.name, c.cdb, c.status])).toEqual([
      ['INQUIRY', '120000002400', 'good'],
      ['INQUIRY', '120000002400', 'good'],
    ]);
  });

  it('the recorded transcript replays against the same host code', async () => {
    const r = await usbms(['--sim', '--record', 'cap.txt', 'capacity']);
    expect(r.code, r.stderr).toBe(0);
    const replay = new ReplayTransport(await readFile(join(tmp, 'cap.txt'), 'utf8'));
    const device = await MscDevice.open(replay);
    const capacity = await device.lun(0).readCapacity();
    await device.close();
    replay.assertFinished();
    expect(r.stdout).toContain(String(capacity.blocks));
  });

  it('decode shows CHECK CONDITION with the decoded sense and the residue', async () => {
    const r = await usbms([
      '--sim',
      '--sim-size',
      '1M',
      '--pcap',
      'bad.pcap',
      'raw',
      '28',
      '00',
      '00',
      '01',
      '00',
      '00',
      '00',
      '00',
      '01',
      '00',
      '--in',
      '512',
    ]);
    expect(r.code).toBe(22);
    const d = await usbms(['decode', 'bad.pcap']);
    expect(d.stdout).toMatch(/READ\(10\) lba=65536 blocks=1 in 0\/512 .*-> CHECK-CONDITION residue 512/);
    expect(d.stdout).toMatch(
      /REQUEST SENSE alloc=\d+ in 18\/\d+ -> GOOD residue \d+ {2}sense ILLEGAL REQUEST: Logical block address out of range \(05\/21\/00\)/,
    );
  });

  it('streams: the pcap grows on disk while a long dump runs; --pcap-snaplen 0 keeps whole data stages', async () => {
    const sizes: number[] = [];
    const file = join(tmp, 'dump.pcap');
    const timer = setInterval(() => {
      if (existsSync(file)) sizes.push(statSync(file).size);
    }, 50);
    const r = await usbms([
      '--sim',
      '--sim-size',
      '8M',
      '--sim-latency',
      '2',
      '--pcap',
      'dump.pcap',
      '--pcap-snaplen',
      '0',
      'dump',
      '-o',
      'img',
      '--chunk-blocks',
      '64',
    ]);
    clearInterval(timer);
    expect(r.code, r.stderr).toBe(0);
    const final = statSync(file).size;
    // Every 32 KiB read is in the file whole: 256 of them.
    expect(final).toBeGreaterThan(8 * 1024 * 1024);
    // Seen part-written while the command ran: records reach the disk as they happen, not at exit.
    expect(sizes.some((s) => s > 0 && s < final)).toBe(true);
    const small = await usbms(['--sim', '--sim-size', '1M', '--pcap', 'small.pcap', 'dump', '-o', 'img2']);
    expect(small.code).toBe(0);
    expect(statSync(join(tmp, 'small.pcap')).size).toBeLessThan(64 * 1024);
  });

  it('refuses a bad --pcap-snaplen before touching the device; decode refuses garbage with a FILE error', async () => {
    const bad = await usbms(['--sim', '--pcap', 'x.pcap', '--pcap-snaplen', 'lots', 'capacity']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--pcap-snaplen must be a non-negative integer');
    expect(existsSync(join(tmp, 'x.pcap'))).toBe(false);
    await writeFile(join(tmp, 'junk.bin'), 'hello world');
    const junk = await usbms(['decode', 'junk.bin']);
    expect(junk.code).toBe(15);
    expect(junk.stderr).toContain('neither a pcap file nor a usbms transcript');
    await writeFile(join(tmp, 'cut.pcap'), (await readFile(join(tmp, 'inq.pcap'))).subarray(0, 100));
    const cut = await usbms(['decode', 'cut.pcap']);
    expect(cut.code).toBe(97);
    expect(cut.stderr).toMatch(/run past the end/);
  });
});
