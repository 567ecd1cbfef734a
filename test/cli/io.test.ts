/**
 * The CLI's data paths on the simulator: `raw` data in/out through files,
 * stdin and stdout, output failures before and after the command, what
 * `--sim=FILE` keeps, and dump/restore resume and refusal.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUsbms } from './run-cli.js';

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'usbms-io-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
const usbms = (args: string[], input?: Uint8Array | string) => runUsbms(args, { cwd: tmp, ...(input === undefined ? {} : { input }) });

describe('raw data in and out', { timeout: 90_000 }, () => {
  it('a WRITE(10) sent with raw --sim=FILE is on the image after exit (the acknowledged write is not lost)', async () => {
    const image = join(tmp, 'raw.img');
    const block = randomBytes(512);
    await writeFile(join(tmp, 'block.bin'), block);
    const w = await usbms([`--sim=${image}`, '--sim-size', '1M', 'raw', '2a', '00', '00', '00', '00', '10', '00', '00', '01', '00', '--out', 'block.bin']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('cdb to send: WRITE(10) [2a 00 00 00 00 10 00 00 01 00]');
    expect((await readFile(image)).subarray(16 * 512, 17 * 512).equals(block)).toBe(true);
    // Data out from stdin, and from --data with --skip/--send.
    const other = randomBytes(512);
    const s = await usbms([`--sim=${image}`, 'raw', '2a 0 0 0 0 11 0 0 1 0', '--out', '-'], other);
    expect(s.code, s.stderr).toBe(0);
    expect((await readFile(image)).subarray(17 * 512, 18 * 512).equals(other)).toBe(true);
    const inline = `ffff ${'ab'.repeat(512)} eeee`;
    const d = await usbms([`--sim=${image}`, 'raw', '2a0000000012000001 00'.replace(' ', ''), '--data', inline, '--skip', '2', '--send', '512']);
    expect(d.code, d.stderr).toBe(0);
    expect((await readFile(image)).subarray(18 * 512, 19 * 512).every((b) => b === 0xab)).toBe(true);
    const short = await usbms([`--sim=${image}`, 'raw', '2a', '0', '0', '0', '0', '13', '0', '0', '1', '0', '--data', 'ab', '--send', '512', '--json']);
    expect(short.code).toBe(15);
    expect(JSON.parse(short.stdout)).toMatchObject({ error: { code: 'FILE' }, exitCode: 15 });
  });

  it('a vendor data-out is flushed at exit only with --flush; a WRITE(10) always is', async () => {
    const sent = async (record: string): Promise<string[]> => {
      const d = await usbms(['decode', record]);
      expect(d.code, d.stderr).toBe(0);
      return d.stdout.split('\n').filter((line) => line.includes('SYNCHRONIZE CACHE'));
    };
    const plain = await usbms(['--sim', '--record', 'vendor.txt', 'raw', 'c1', '0', '0', '0', '0', '0', '--data', 'ab']);
    expect(plain.stdout).toContain('cdb to send');
    expect(await sent('vendor.txt')).toHaveLength(0);
    const flushed = await usbms(['--sim', '--record', 'vendor-flush.txt', 'raw', 'c1', '0', '0', '0', '0', '0', '--data', 'ab', '--flush']);
    expect(flushed.stdout).toContain('cdb to send');
    expect(await sent('vendor-flush.txt')).toHaveLength(1);
    const write = await usbms(['--sim', '--record', 'write.txt', 'raw', '2a', '0', '0', '0', '0', '1', '0', '0', '1', '0', '--data', '00'.repeat(512)]);
    expect(write.code, write.stderr).toBe(0);
    expect(await sent('write.txt')).toHaveLength(1);
  });

  it('-o - puts exactly the data on stdout and the report on stderr', async () => {
    const r = await usbms(['--sim', 'raw', '12', '00', '00', '00', '24', '00', '--in', '36', '-o', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdoutBytes.length).toBe(36);
    expect(r.stdoutBytes.subarray(8, 13).toString()).toBe('USBMS');
    expect(r.stderr).toContain('cdb to send: INQUIRY [12 00 00 00 24 00]');
    expect(r.stderr).toContain('Data in (36 bytes) written to stdout');
    const json = await usbms(['--sim', '--json', 'raw', '12', '00', '00', '00', '24', '00', '--in', '36', '-o', '-']);
    expect(json.stdoutBytes.length).toBe(36);
    expect(JSON.parse(json.stderr)).toMatchObject({ status: 'good', output: '-', bytes: 36 });
    const read = await usbms(['--sim', 'read', '0', '2', '-o', '-']);
    expect(read.code).toBe(0);
    expect(read.stdoutBytes.length).toBe(1024);
  });

  it('an unwritable output path is refused before the command is sent (exit 52, code FILE)', async () => {
    const r = await usbms(['--sim', '--json', 'raw', '12', '00', '00', '00', '24', '00', '--in', '36', '-o', join(tmp, 'missing-dir', 'x')]);
    expect(r.code).toBe(52);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'FILE', details: { errno: 'ENOENT' } }, exitCode: 52 });
    expect(r.stdout).not.toContain('status');
  });

  it('when saving fails after the command, status, sense and the hex dump still reach the user', async () => {
    // /dev/full passes the check (it exists and is writable) and fails the write with ENOSPC (28): exit 78.
    const r = await usbms(['--sim', 'raw', '12', '00', '00', '00', '24', '00', '--in', '36', '-o', '/dev/full']);
    expect(r.code).toBe(50 + 28);
    expect(r.stdout).toContain('SCSI status: GOOD (0x00)');
    expect(r.stdout).toMatch(/^00000000 {2}00 80 /m);
    expect(r.stderr).toMatch(/usbms raw: cannot write \/dev\/full/);
  });

  it('a data-in command sent without --in hints at --in N', async () => {
    const r = await usbms(['--sim', 'raw', '12', '00', '00', '00', '24', '00']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('hint: INQUIRY returns data; add --in 36');
  });

  it('--dry-run sends nothing and needs no device', async () => {
    const r = await usbms(['raw', '--dry-run', '120000002400', '--in', '36']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('cdb to send: INQUIRY [12 00 00 00 24 00]\ndata in: up to 36 bytes\ndry run: nothing sent\n');
  });

  it('contradicting options exit 31', async () => {
    const r = await usbms(['--sim', 'raw', '2a', '0', '0', '0', '0', '0', '0', '0', '1', '0', '--in', '512', '--data', '00']);
    expect(r.code).toBe(31);
  });
});

describe('dump and restore resume only what they started', { timeout: 120_000 }, () => {
  it('a dump stopped by an unreadable block suggests --skip-bad; it resumes on the same device, and refuses another', async () => {
    const a = join(tmp, 'a.img');
    const b = join(tmp, 'b.img');
    const content = randomBytes(256 * 512);
    await writeFile(a, content);
    await writeFile(b, randomBytes(256 * 512));
    const out = join(tmp, 'resume.img');
    const stopped = await usbms([`--sim=${a}`, '--sim-bad-lba', '200', 'dump', '-o', out, '--chunk-blocks', '32']);
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toContain('add --skip-bad');
    const meta = JSON.parse(await readFile(`${out}.partial.json`, 'utf8')) as {
      doneBlocks: number;
      identity: { usb: string; blocks: number };
      samples: unknown[];
    };
    expect(meta.doneBlocks).toBe(192);
    expect(meta.identity).toMatchObject({ usb: '1209:5553', blocks: 256 });
    expect(meta.samples.length).toBeGreaterThan(0);

    // Same identity (same simulator), different medium: the copied blocks do not read back the same.
    const other = await usbms([`--sim=${b}`, 'dump', '-o', out, '--chunk-blocks', '32']);
    expect(other.code).toBe(99);
    expect(other.stderr).toMatch(/refusing to resume the dump .*block \d+ no longer reads back/);
    expect(other.stderr).toContain('this device:  1209:5553');
    expect(other.stderr).toContain('to start over: usbms dump -o');
    // Another capacity: the identities differ.
    const bigger = join(tmp, 'c.img');
    await writeFile(bigger, content.subarray(0, 128 * 512));
    const small = await usbms([`--sim=${bigger}`, '--json', 'dump', '-o', out]);
    expect(small.code).toBe(99);
    expect(JSON.parse(small.stdout)).toMatchObject({ error: { code: 'RESUME_MISMATCH', details: { recorded: { blocks: 256 }, current: { blocks: 128 } } } });

    const resumed = await usbms([`--sim=${a}`, 'dump', '-o', out, '--chunk-blocks', '32']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('(resumed)');
    expect((await readFile(out)).equals(content)).toBe(true);
  });

  /** A slow 2 MiB restore of random data (4096 blocks) onto `--sim=<name>-dst.img`, once its first progress record is there. */
  const slowRestore = async (name: string) => {
    const image = join(tmp, `${name}-src.img`);
    const content = randomBytes(2 * 1024 * 1024);
    await writeFile(image, content);
    const target = join(tmp, `${name}-dst.img`);
    const meta = `${image}.restore.json`;
    const slow = runUsbms([`--sim=${target}`, '--sim-size', '2M', '--sim-latency', '3', '--max-transfer', '8K', 'restore', '-i', image, '--yes'], {
      cwd: tmp,
      timeoutMs: 60_000,
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !existsSync(meta)) await new Promise((r) => setTimeout(r, 5));
    return { image, content, target, meta, slow };
  };

  it('an interrupted restore reports the last block written, resumes on the same device and refuses another', async () => {
    const { image, content, target, meta, slow } = await slowRestore('restore');
    slow.child.kill('SIGINT');
    const interrupted = await slow;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/restore stopped after \d+ of 4096 blocks \(the last block written is LBA \d+\); run the same command to resume/);
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { doneBlocks: number };
    expect(saved.doneBlocks).toBeGreaterThan(0);

    // Another medium of the same size: what was written is not there.
    const elsewhere = join(tmp, 'restore-other.img');
    const refused = await usbms([`--sim=${elsewhere}`, '--sim-size', '2M', 'restore', '-i', image, '--yes']);
    expect(refused.code).toBe(99);
    expect(refused.stderr).toContain('refusing to resume the restore');
    expect(refused.stderr).toContain(`to start over: usbms restore -i ${image} --no-resume`);

    const resumed = await usbms([`--sim=${target}`, 'restore', '-i', image, '--yes']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming the restore of ${image} at block ${saved.doneBlocks}`);
    expect(resumed.stdout).toContain('(resumed)');
    expect((await readFile(target)).equals(content)).toBe(true);
    expect(existsSync(meta)).toBe(false);
  });

  it('a restore cut by a power loss resumes from blocks the device flushed, not from blocks still in its write cache', async () => {
    // SIGKILL ends the CLI and its simulated device at once: the device's volatile write cache
    // (4 MiB, larger than this image) is lost and never reaches the image file, as on a power cut.
    const { image, content, target, meta, slow } = await slowRestore('power');
    // Writes go on after the record; cut the power while they are in the cache.
    await new Promise((r) => setTimeout(r, 150));
    slow.child.kill('SIGKILL');
    const cut = await slow;
    expect(cut.signal).toBe('SIGKILL');
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { doneBlocks: number };
    expect(saved.doneBlocks).toBeGreaterThan(0);
    expect(saved.doneBlocks).toBeLessThan(4096);
    // Every block the record claims is on the medium.
    const onMedium = await readFile(target);
    expect(onMedium.subarray(0, saved.doneBlocks * 512).equals(content.subarray(0, saved.doneBlocks * 512))).toBe(true);

    const resumed = await usbms([`--sim=${target}`, 'restore', '-i', image, '--yes']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming the restore of ${image} at block ${saved.doneBlocks}`);
    expect((await readFile(target)).equals(content)).toBe(true);
  });
});
