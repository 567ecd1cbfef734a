/**
 * Every `usbms` example in the READMEs and in `usbms --help`, run verbatim by
 * bash against the simulator, in document order, with its output and exit
 * code checked. The examples are extracted from the documents, so they cannot
 * drift: an example without an expectation here fails, and so does an
 * expectation whose example is gone. Prompts are answered through a
 * pseudo-terminal (util-linux `script`, part of every Debian system).
 *
 * A `usbms` shim on PATH runs the real binary with the simulator as the
 * device (a 16 MiB image that persists across the examples of a document,
 * reporting VID:PID 0781:5567 as the README's examples name it), unless the
 * example itself chooses `--sim`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_DOCS, type ExampleRun, examplesOfHelp, examplesOfMarkdown, type Outcome, runExample } from './examples-lib.js';
import { BIN } from './run-cli.js';

const ROOT = new URL('../../', import.meta.url);

export interface Expectation extends ExampleRun {
  code: number;
  stdout?: RegExp;
  stderr?: RegExp;
  /** Extra global options for the simulator (slower transfers, bad blocks, ...). */
  sim?: string[];
  /** Checks on the files the example left. */
  after?: (dir: string) => void;
}

const CTRL_C_TO_STOP: ExampleRun['interrupt'] = { output: 'Ctrl-C to stop' };

/**
 * Expectations by example text; repeated examples take the next entry each time.
 * Keys are per document ('help' for `usbms --help`).
 */
const EXPECTED: Record<string, Record<string, Expectation[]>> = {
  'README.md': {
    'usbms list': [{ code: 0, stdout: /\[sim\] 0781:5567:SIM0001\s+simulated device/ }],
    'usbms --device 0781:5567 inquiry --json': [{ code: 0, stdout: /"vendor": "USBMS"/ }],
    'usbms -d 0 capacity': [{ code: 0, stdout: /Last LBA:\s+32767\n/ }],
    'usbms -d 0 tur ; usbms -d 0 sense': [{ code: 0, stdout: /LUN 0: ready\nNo sense data/ }],
    // A vendor opcode the simulator does not implement: 05/20/00, exit 9 as sg_raw.
    'usbms -d 0 raw c0 01 00 00 00 20 --in 32': [
      { code: 9, stdout: /cdb to send: VENDOR SPECIFIC \(0xC0\) \[c0 01 00 00 00 20\][\s\S]*Invalid command operation code/ },
    ],
    'usbms -d 0 read 2048 8 -o blocks.bin': [
      { code: 0, stderr: /read 8 blocks \(4096 bytes\) from LBA 2048 to blocks.bin/, after: (d) => expect(statSync(join(d, 'blocks.bin')).size).toBe(4096) },
    ],
    'usbms -d 0 write 2048 -i blocks.bin': [{ code: 0, pty: 'yes', stdout: /Type "yes" to continue: [\s\S]*wrote 8 blocks \(4096 bytes\) at LBA 2048/ }],
    'usbms -d 0 dump -o stick.img': [{ code: 0, stdout: /dumped 32768 blocks \(16\.0 MiB\) from LUN 0 to stick.img/ }],
    'usbms -d 0 --max-transfer 4M dump -o s.img': [{ code: 0, stdout: /dumped 32768 blocks/ }],
    'usbms -d 0 restore -i stick.img --yes': [{ code: 0, stdout: /restored 32768 blocks/ }],
    'usbms -d 0 eject ; usbms -d 0 bench': [{ code: 0, stdout: /LUN 0: medium ejected\n[\s\S]*Sequential read:/ }],
    'usbms --sim inquiry': [{ code: 0, stdout: /Vendor:\s+USBMS/ }],
    'usbms -d 0 identify ; usbms -d 0 smart -a': [{ code: 0, stdout: /Device Model:[\s\S]*PASSED/ }],
    // The vendor opcode is refused (05/20/00, exit 9), and the capture holds the exchange.
    'usbms -d 0 --pcap bug.pcap raw c0 01 00 00 00 20 --in 32': [
      { code: 9, stdout: /cdb to send: VENDOR SPECIFIC \(0xC0\)/, after: (d) => expect(statSync(join(d, 'bug.pcap')).size).toBeGreaterThan(24) },
    ],
    'usbms -d 0 --record bug.txt inquiry': [
      { code: 0, stdout: /Vendor:\s+USBMS/, after: (d) => expect(readFileSync(join(d, 'bug.txt'), 'utf8')).toMatch(/^usbms-transcript/) },
    ],
    'usbms decode bug.pcap': [{ code: 0, stdout: /INQUIRY[\s\S]*VENDOR SPECIFIC/ }],
    // A server: it runs until Ctrl-C (exit 130, as sg3_utils for an interrupt).
    'usbms serve': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C_TO_STOP }],
    'usbms --sim serve --socket /tmp/usbms.sock --read-only': [{ code: 130, stdout: /unix:\/tmp\/usbms.sock \(read-only\)/, interrupt: CTRL_C_TO_STOP }],
  },
  'packages/node/README.md': {
    'usbms list': [{ code: 0, stdout: /\[sim\] 0781:5567:SIM0001\s+simulated device/ }],
    'usbms watch': [{ code: 130, stdout: /\+ 0781:5567/, interrupt: { output: '+ 0781:5567' } }],
    'usbms --device 0781:5567 inquiry': [{ code: 0, stdout: /Vendor:\s+USBMS[\s\S]*Unit serial number/ }],
    'usbms inquiry -p sn': [{ code: 0, stdout: /^VPD page 0x80 Unit serial number \[sn\] \(\d+ bytes\):\n {2}SIM/ }],
    'usbms -d 0 capacity': [{ code: 0, stdout: /Block size:\s+512/ }],
    'usbms capacity --16': [{ code: 0, stdout: /Physical block size:\s+512[\s\S]*Protection:\s+disabled[\s\S]*Thin provisioning:\s+disabled/ }],
    'usbms tur; echo $?': [{ code: 0, stdout: /^LUN 0: ready\n0\n$/ }],
    'usbms tur -n 100': [
      { code: 0, stdout: /^Completed 100 Test Unit Ready commands with 0 errors\ntime to perform commands was [\d.]+ secs; [\d.]+ operations\/sec/ },
    ],
    'usbms sense': [{ code: 0, stdout: /No sense data/ }],
    'usbms sense --desc': [{ code: 0, stdout: /No sense data \(NO SENSE 00\/00\/00, descriptor format\)/ }],
    'usbms raw 12 00 00 00 24 00 --in 36': [{ code: 0, stdout: /cdb to send: INQUIRY \[12 00 00 00 24 00\]\nSCSI status: GOOD/ }],
    'usbms raw 2a 00 00 00 00 10 00 00 01 00 --out block.bin': [{ code: 0, stdout: /cdb to send: WRITE\(10\)[\s\S]*Data out: 512 bytes/ }],
    'usbms raw 120000002400 --in 36 -o - > inq.bin': [
      { code: 0, stderr: /written to stdout/, after: (d) => expect(readFileSync(join(d, 'inq.bin')).subarray(8, 13).toString()).toBe('USBMS') },
    ],
    'usbms raw --dry-run 28 0 0 0 0 0 0 0 1 0': [{ code: 0, stdout: /^cdb to send: READ\(10\) \[28 00 00 00 00 00 00 00 01 00\]\ndry run: nothing sent\n$/ }],
    'usbms read 0 1': [{ code: 0, stdout: /^00000000 {2}/ }],
    'usbms write 2048 -i data.bin': [{ code: 0, pty: 'yes', stdout: /wrote 2 blocks \(1024 bytes\) at LBA 2048/ }],
    'usbms dump -o stick.img': [
      // Interrupted (slow transfers so Ctrl-C lands mid-way), then the same command resumes.
      {
        code: 130,
        sim: ['--sim-latency', '2', '--max-transfer', '8K'],
        interrupt: { partial: 'stick.img.partial.json' },
        stderr: /dump stopped at block \d+ of 32768; stick.img.partial kept/,
      },
      { code: 0, stdout: /dumped 32768 blocks .* \(resumed\)/ },
    ],
    'usbms dump -o bad.img --skip-bad': [
      { code: 0, sim: ['--sim-bad-lba', '100,101'], stdout: /2 unreadable blocks were zero-filled; list in bad.img.badblocks/ },
    ],
    'usbms restore -i stick.img --yes': [{ code: 0, stdout: /restored 32768 blocks/ }],
    'usbms eject': [{ code: 0, stdout: /LUN 0: medium ejected/ }],
    // The medium is 16 MiB: the clipped range is reported.
    'usbms bench --size 64M --turs 200': [{ code: 0, stderr: /warning: --size 64M from LBA 0 runs past the end of the medium/, stdout: /200 commands/ }],
    'usbms identify': [{ code: 0, stdout: /Device Model:\s+USBMS SIM ATA DRIVE/ }],
    'usbms smart': [{ code: 0, stdout: /SMART overall-health self-assessment test result: PASSED/ }],
    'usbms smart -a': [{ code: 0, stdout: /Device Model:[\s\S]*PASSED/ }],
    'usbms smart -l error -l selftest -l directory': [{ code: 0, stdout: /No Errors Logged/ }],
    'usbms smart -t short ; usbms smart -X': [{ code: 0, stdout: /Drive command successful[\s\S]*Self-testing aborted!/ }],
    // The simulated disk becomes an NVMe SSD in an emulated RTL9210 enclosure.
    'usbms smart --bridge nvme-realtek': [
      { code: 0, sim: ['--sim-bridge', 'nvme-realtek'], stdout: /SMART overall-health self-assessment test result: PASSED[\s\S]*^Temperature: +\d+ Celsius$/m },
    ],
    'usbms --sim=disk.img write 0 -i mbr.bin --yes': [{ code: 0, stdout: /wrote 1 blocks/ }],
    'usbms --sim=disk.img read 0 1': [{ code: 0, stdout: /^00000000 {2}eb 3c 90/ }],
    'usbms --pcap run.pcap dump -o card.img': [
      { code: 0, stdout: /dumped 32768 blocks/, after: (d) => expect(statSync(join(d, 'run.pcap')).size).toBeGreaterThan(24) },
    ],
    'usbms --record run.txt inquiry': [{ code: 0, stdout: /Vendor:\s+USBMS/ }],
    'usbms decode run.pcap': [{ code: 0, stdout: /READ\(10\)/ }],
    'usbms -d 0781:5567 serve --socket ~/usbms.sock': [{ code: 130, stdout: /unix:/, interrupt: CTRL_C_TO_STOP }],
    'usbms serve': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C_TO_STOP }],
    'usbms --sim serve --read-only --allow-vendor c0': [{ code: 130, stdout: /read-only/, interrupt: CTRL_C_TO_STOP }],
    'usbms serve --listen 0.0.0.0:5181 --allow-origin https://tool.example': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C_TO_STOP }],
  },
  help: {
    'usbms list': [{ code: 0, stdout: /0781:5567/ }],
    'usbms --device 0781:5567 inquiry': [{ code: 0, stdout: /Vendor:\s+USBMS/ }],
    'usbms --sim capacity': [{ code: 0, stdout: /Last LBA:\s+131071/ }],
    'usbms --sim=disk.img write 0 -i boot.bin --yes': [{ code: 0, stdout: /wrote 1 blocks/ }],
    'usbms raw 12 00 00 00 24 00 --in 36': [{ code: 0, stdout: /SCSI status: GOOD/ }],
    'usbms identify ; usbms smart -a ; usbms smart -t short ; usbms smart -l selftest': [
      { code: 0, stdout: /Device Model:[\s\S]*PASSED[\s\S]*Drive command successful/ },
    ],
    'usbms dump -o stick.img': [{ code: 0, stdout: /dumped 32768 blocks/ }],
  },
};

/** Input files the examples name. */
async function prepare(dir: string): Promise<void> {
  await writeFile(join(dir, 'block.bin'), randomBytes(512));
  await writeFile(join(dir, 'data.bin'), randomBytes(1024));
  const mbr = new Uint8Array(512);
  mbr.set([0xeb, 0x3c, 0x90]);
  mbr.set([0x55, 0xaa], 510);
  await writeFile(join(dir, 'mbr.bin'), mbr);
  await writeFile(join(dir, 'boot.bin'), mbr);
  // The simulated device's medium: 16 MiB, sparse.
  await truncate(join(dir, 'device.img'), 16 * 1024 * 1024).catch(async () => {
    await writeFile(join(dir, 'device.img'), '');
    await truncate(join(dir, 'device.img'), 16 * 1024 * 1024);
  });
}

let work = '';
let shimDir = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'usbms-examples-'));
  shimDir = join(work, 'bin');
  await mkdir(shimDir);
  const shim = join(shimDir, 'usbms');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" $USBMS_EXAMPLE_SIM "$@"\n`);
  chmodSync(shim, 0o755);
  // `script` comes with util-linux (essential on Debian); install it on anything else that lacks it.
  if (spawnSync('script', ['--version']).error !== undefined) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', 'bsdutils'], { stdio: 'inherit' });
  }
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function runSimExample(command: string, dir: string, e: Expectation): Promise<Outcome> {
  const simArgs = command.includes('--sim')
    ? ''
    : [`--sim=${join(dir, 'device.img')}`, '--sim-size', '16M', '--sim-id', '0781:5567', ...(e.sim ?? [])].join(' ');
  const env = { ...process.env, HOME: dir, PATH: `${shimDir}:${process.env.PATH ?? ''}`, USBMS_EXAMPLE_SIM: simArgs, USBMS_FROM_SOURCE: '1', NO_COLOR: '1' };
  return runExample(command, dir, e, env);
}

async function helpText(): Promise<string> {
  const r = spawnSync(process.execPath, [BIN, '--help'], { env: { ...process.env, USBMS_FROM_SOURCE: '1' }, encoding: 'utf8' });
  return r.stdout;
}

describe('documented examples run as written, on the simulator', { timeout: 900_000 }, () => {
  for (const doc of [...EXAMPLE_DOCS, 'help'] as const) {
    it(`${doc}: every example, in order`, async () => {
      const examples = doc === 'help' ? examplesOfHelp(await helpText()) : examplesOfMarkdown(await readFile(new URL(doc, ROOT), 'utf8'));
      const expected = EXPECTED[doc] ?? {};
      // No drift: the same set of examples on both sides.
      expect(new Set(examples)).toEqual(new Set(Object.keys(expected)));
      const dir = join(work, doc.replace(/\W+/g, '-'));
      await mkdir(dir);
      await prepare(dir);
      const used = new Map<string, number>();
      for (const command of examples) {
        const n = used.get(command) ?? 0;
        used.set(command, n + 1);
        const e = expected[command]?.[n];
        expect(e, `no expectation for occurrence ${n + 1} of "${command}"`).toBeDefined();
        if (e === undefined) continue;
        const r = await runSimExample(command, dir, e);
        const context = `${doc}: ${command}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
        expect(r.code, context).toBe(e.code);
        if (e.stdout !== undefined) expect(r.stdout, context).toMatch(e.stdout);
        if (e.stderr !== undefined) expect(r.stderr, context).toMatch(e.stderr);
        e.after?.(dir);
      }
      for (const [command, list] of Object.entries(expected)) expect(used.get(command), `"${command}" runs ${list.length} time(s) in ${doc}`).toBe(list.length);
    });
  }

  it('the extraction sees the examples (guards against a silent empty match)', () => {
    expect(examplesOfMarkdown('```\nusbms a   # x\nusbms b\n```\n\n```\nnot usbms\n```')).toEqual(['usbms a', 'usbms b']);
    expect(existsSync(new URL('README.md', ROOT))).toBe(true);
  });
});
