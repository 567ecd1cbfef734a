/**
 * The real `usbms` binary (packages/node/bin/usbms.mjs) run as a subprocess
 * against the simulator (`--sim`, `--sim=image.img`): output and exit codes
 * per subcommand, decoded sense of failing commands, and an interrupted dump
 * that resumes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Run, runUsbms } from './run-cli.js';

function usbms(
  args: string[],
  options: { cwd?: string; timeoutMs?: number; input?: Uint8Array | string } = {},
): Promise<Run> & { child: import('node:child_process').ChildProcess } {
  return runUsbms(args, {
    cwd: options.cwd ?? tmp,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'usbms-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// Each case spawns node + tsx (about 1-2 s each on a busy 2-core machine): generous timeouts.
describe('usbms basics', { timeout: 60_000 }, () => {
  it('prints help with every subcommand', async () => {
    const r = await usbms(['--help']);
    expect(r.code).toBe(0);
    for (const sub of ['list', 'inquiry', 'capacity', 'sense', 'tur', 'raw', 'read', 'write', 'dump', 'restore', 'eject', 'bench']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
    }
  });

  it('rejects an unknown subcommand with exit 1', async () => {
    const r = await usbms(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('usbms --sim subcommands', { timeout: 60_000 }, () => {
  it('list shows the simulated device', async () => {
    const r = await usbms(['--sim', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[sim\] 1209:5553/);
    expect(r.stdout).toContain('LUN 0: USBMS');
  });

  it('inquiry prints standard data and VPD pages; --json parses', async () => {
    const r = await usbms(['--sim', 'inquiry']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Vendor:\s+USBMS/);
    expect(r.stdout).toMatch(/Product:\s+Sim Disk/);
    expect(r.stdout).toMatch(/VPD pages:\n {2}0x00 Supported VPD pages \[sv\]\n[\s\S]* {2}0x80 Unit serial number \[sn\]/);
    expect(r.stdout).toMatch(/Unit serial number \(0x80\): SIM/);
    const j = await usbms(['--sim', 'inquiry', '--json']);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout) as { standard: { vendor: string }; vpdPages: number[] };
    expect(parsed.standard.vendor).toBe('USBMS');
    expect(parsed.vpdPages).toContain(0x80);
  });

  it('capacity reports blocks and size', async () => {
    const r = await usbms(['--sim', '--sim-size', '1M', 'capacity']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Last LBA:\s+2047/);
    expect(r.stdout).toMatch(/Block size:\s+512/);
    const j = await usbms(['--sim', '--sim-size', '1M', 'capacity', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ lastLba: 2047, blockSize: 512, blocks: 2048, bytes: 1048576 });
  });

  it('tur succeeds on a ready unit and exits 2 (NOT READY) with the sense decoded when no medium', async () => {
    const ok = await usbms(['--sim', 'tur']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('LUN 0: ready');
    const empty = await usbms(['--sim', '--sim-no-medium', 'tur']);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/^usbms tur: .*NOT READY.*[Mm]edium not present.*02\/3A\/00/);
    expect(empty.stderr).not.toContain('    at ');
  });

  it('prints a stack trace only with --verbose', async () => {
    const r = await usbms(['--sim', '--sim-no-medium', '--verbose', 'tur']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('    at ');
    expect(r.stderr).toContain('(CHECK_CONDITION)');
  });

  it('--verbose says which quirk rules matched, before and after INQUIRY', async () => {
    const r = await usbms(['--sim', '--verbose', 'tur']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('usbms: quirk rule (descriptor): none');
    expect(r.stderr).toContain('usbms: quirk rule (inquiry): none');
    const quiet = await usbms(['--sim', 'tur']);
    expect(quiet.stderr).not.toContain('quirk rule');
  });

  it('sense reports no sense on a healthy unit', async () => {
    const r = await usbms(['--sim', 'sense']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No sense data');
  });

  it('raw sends an INQUIRY and dumps the data', async () => {
    const r = await usbms(['--sim', 'raw', '12', '00', '00', '00', '24', '00', '--in', '36']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SCSI status: GOOD (0x00)');
    expect(r.stdout).toContain('Residue: 0');
    expect(r.stdout).toMatch(/^00000000 {2}00 80 /m);
    expect(r.stdout).toContain('|........USBMS');
  });

  it('raw shows a failing command with decoded sense and exits 22 (sg3_utils: LBA out of range)', async () => {
    // READ(10) of LBA 4096 on a 2048-block medium: 05/21/00 LBA out of range.
    const r = await usbms(['--sim', '--sim-size', '1M', 'raw', '28 00 00 00 10 00 00 00 01 00', '--in', '512']);
    expect(r.code).toBe(22);
    expect(r.stdout).toContain('cdb to send: READ(10) [28 00 00 00 10 00 00 00 01 00]');
    expect(r.stdout).toContain('SCSI status: CHECK CONDITION (0x02)');
    expect(r.stdout).toMatch(/Sense key:\s+0x05 ILLEGAL REQUEST/);
    expect(r.stdout).toMatch(/ASC\/ASCQ:\s+0x21\/0x00 Logical block address out of range/i);
    const j = await usbms(['--sim', '--sim-size', '1M', 'raw', '28000000100000000100', '--in', '512', '--json']);
    expect(j.code).toBe(22);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'check-condition', sense: { senseKey: 5, asc: 0x21, ascq: 0 } });
  });

  it('raw rejects a malformed CDB with exit 1', async () => {
    const r = await usbms(['--sim', 'raw', '12', 'zz', '0', '0', '24', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^usbms raw: invalid CDB byte "zz"/);
    const mixed = await usbms(['--sim', 'raw', '12', '00', '00', '00', '2400', '--json']);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('"2400"') }, exitCode: 1 });
  });

  it('errors are JSON on stdout with --json', async () => {
    const r = await usbms(['--sim', '--sim-no-medium', '--json', 'capacity']);
    expect(r.code).toBe(2);
    const parsed = JSON.parse(r.stdout) as { error: { code: string }; exitCode: number };
    expect(parsed.error.code).toBe('CHECK_CONDITION');
    expect(parsed.exitCode).toBe(2);
  });

  it('eject ejects the medium', async () => {
    const r = await usbms(['--sim', 'eject']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('LUN 0: medium ejected');
  });

  it('bench reports throughput and TEST UNIT READY latency', async () => {
    const r = await usbms(['--sim', '--sim-size', '1M', 'bench', '--size', '262144', '--turs', '5', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { bytes: number; readBytesPerSecond: number; testUnitReadyMs: { count: number } };
    expect(parsed.bytes).toBe(262144);
    expect(parsed.readBytesPerSecond).toBeGreaterThan(0);
    expect(parsed.testUnitReadyMs.count).toBe(5);
  });

  it('--max-transfer sets the command size; a bad value is refused before opening the device', async () => {
    const r = await usbms(['--sim', '--sim-size', '1M', '--max-transfer', '64K', 'bench', '--size', '262144', '--turs', '1', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { commandBytes: number }).commandBytes).toBe(64 * 1024);
    const bad = await usbms(['--sim', '--max-transfer', '1000', 'capacity']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--max-transfer must be a multiple of 512');
  });
});

describe('usbms --sim=image.img: data persists across invocations', { timeout: 60_000 }, () => {
  it('write refuses without --yes when there is no terminal', async () => {
    const image = join(tmp, 'refuse.img');
    const data = join(tmp, 'one-block.bin');
    await writeFile(data, new Uint8Array(512).fill(0xab));
    const r = await usbms([`--sim=${image}`, '--sim-size', '1M', 'write', '0', '-i', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^usbms write: refusing to write .*one-block.bin at LBA 0 without --yes \(no terminal/);
    // Refused before any I/O: the image was not even created.
    expect(existsSync(image)).toBe(false);
  });

  it('write --yes, then read back in a new process', async () => {
    const image = join(tmp, 'rw.img');
    const data = join(tmp, 'payload.bin');
    const payload = randomBytes(4096);
    await writeFile(data, payload);
    const w = await usbms([`--sim=${image}`, '--sim-size', '1M', 'write', '8', '-i', data, '--yes', '--verify']);
    expect(w.code).toBe(0);
    expect(w.stdout).toContain('wrote 8 blocks (4096 bytes) at LBA 8, verified');
    const out = join(tmp, 'readback.bin');
    const r = await usbms([`--sim=${image}`, 'read', '8', '8', '-o', out]);
    expect(r.code).toBe(0);
    expect(Buffer.compare(await readFile(out), payload)).toBe(0);
    // And the image file itself holds it at byte 8 * 512.
    expect(Buffer.compare((await readFile(image)).subarray(4096, 8192), payload)).toBe(0);
  });

  it('read without -o prints a hex dump; an out-of-range read exits 1 before sending', async () => {
    const image = join(tmp, 'dump-hex.img');
    await writeFile(image, Buffer.concat([Buffer.from('hello, usbms'), Buffer.alloc(1024 * 1024 - 12)]));
    const r = await usbms([`--sim=${image}`, 'read', '0', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('|hello, usbms....|');
    const bad = await usbms([`--sim=${image}`, 'read', '5000', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^usbms read: .*beyond the end/);
  });

  it('dump copies the medium; restore writes an image back', async () => {
    const image = join(tmp, 'source.img');
    const content = randomBytes(512 * 1024);
    await writeFile(image, content);
    const out = join(tmp, 'copy.img');
    const d = await usbms([`--sim=${image}`, 'dump', '-o', out]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('dumped 1024 blocks');
    expect(Buffer.compare(await readFile(out), content)).toBe(0);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const target = join(tmp, 'target.img');
    const refused = await usbms([`--sim=${target}`, '--sim-size', '512K', 'restore', '-i', out]);
    expect(refused.code).toBe(1);
    const r = await usbms([`--sim=${target}`, '--sim-size', '512K', 'restore', '-i', out, '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('restored 1024 blocks');
    expect(Buffer.compare(await readFile(target), content)).toBe(0);
  });

  it('an unreadable block fails a read with MEDIUM ERROR (exit 3); dump --skip-bad zero-fills and logs it', async () => {
    const image = join(tmp, 'bad.img');
    const content = randomBytes(256 * 512);
    await writeFile(image, content);
    const read = await usbms([`--sim=${image}`, '--sim-bad-lba', '100', 'read', '96', '8']);
    expect(read.code).toBe(3);
    expect(read.stderr).toMatch(/^usbms read: .*MEDIUM ERROR: Unrecovered read error \(03\/11\/00\) at LBA 100/);

    const stopped = join(tmp, 'bad-stop.img');
    const failed = await usbms([`--sim=${image}`, '--sim-bad-lba', '100', 'dump', '-o', stopped, '--chunk-blocks', '32']);
    expect(failed.code).toBe(3);
    expect(existsSync(`${stopped}.partial`)).toBe(true);
    expect((JSON.parse(await readFile(`${stopped}.partial.json`, 'utf8')) as { doneBlocks: number }).doneBlocks).toBe(96);

    const out = join(tmp, 'bad-skip.img');
    const skipped = await usbms([`--sim=${image}`, '--sim-bad-lba', '100,101', 'dump', '-o', out, '--skip-bad', '--chunk-blocks', '32']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('2 unreadable blocks were zero-filled');
    const log = await readFile(`${out}.badblocks`, 'utf8');
    expect(
      log
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual(['100', '101']);
    const copy = await readFile(out);
    const expected = Buffer.from(content);
    expected.fill(0, 100 * 512, 102 * 512);
    expect(Buffer.compare(copy, expected)).toBe(0);
  });

  it('a SIGINT during a long dump keeps FILE.partial, exits 130, and the same command resumes to a correct image', async () => {
    const image = join(tmp, 'big.img');
    const content = randomBytes(4 * 1024 * 1024);
    await writeFile(image, content);
    const out = join(tmp, 'big-copy.img');
    const meta = `${out}.partial.json`;
    // 8 KiB per READ and 3 ms per simulated transfer (3 per command): 512 commands, at least 4.6 s.
    const slow = usbms([`--sim=${image}`, '--sim-latency', '3', 'dump', '-o', out, '--chunk-blocks', '16'], { timeoutMs: 60_000 });
    const deadline = Date.now() + 30_000;
    let done = 0;
    while (Date.now() < deadline) {
      if (existsSync(meta)) {
        try {
          done = (JSON.parse(await readFile(meta, 'utf8')) as { doneBlocks: number }).doneBlocks;
        } catch {
          done = 0; // caught mid-rename
        }
        if (done > 0) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(done).toBeGreaterThan(0);
    slow.child.kill('SIGINT');
    const interrupted = await slow;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/usbms dump: interrupted/);
    expect(existsSync(`${out}.partial`)).toBe(true);
    expect(existsSync(out)).toBe(false);
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { doneBlocks: number; blocks: number };
    expect(saved.doneBlocks).toBeGreaterThan(0);
    expect(saved.doneBlocks).toBeLessThan(saved.blocks);

    const resumed = await usbms([`--sim=${image}`, 'dump', '-o', out, '--chunk-blocks', '16'], { timeoutMs: 60_000 });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${out}.partial at block ${saved.doneBlocks}`);
    expect(resumed.stdout).toContain('(resumed)');
    expect(Buffer.compare(await readFile(out), content)).toBe(0);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(existsSync(meta)).toBe(false);
  }, 90_000);
});
