// The CLI against a real device implementation: Linux's f_mass_storage gadget in the guest, configured
// with the README's VID:PID (0781:5567) and three LUNs (a disk, a read-only disk, an empty removable LUN).
//  - Every `usbms` example of README.md, packages/node/README.md and `usbms --help` that uses a device runs
//    verbatim (bash, prompts through a pseudo-terminal), in document order, with its exit code and output
//    checked; the examples that choose the simulator (`--sim`) run in the simulator suite only. The
//    examples are extracted from the documents here, as the simulator suite (test/cli/examples.test.ts)
//    does: an example without an expectation fails, so does an expectation whose example is gone.
//  - For the same fault on the same LUN, usbms exits with the code sg_raw (Debian sg3-utils 1.46) exits
//    with through the kernel's usb-storage: unsupported opcode, LBA out of range, no medium, write-protect.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_DOCS, type ExampleRun, examplesOfHelp, examplesOfMarkdown } from '../cli/examples-lib.js';
import { BIN } from '../cli/run-cli.js';
import { bundleForGuest } from './bundle.js';
import type { CliExamplesResult, ExampleJob, FaultCase } from './guest/cli-examples.js';
import { README_GADGET, README_LUN_MIB } from './profiles.js';
import { REPO_ROOT, readJobJson, runInGuest } from './runner.js';

interface Expectation extends ExampleRun {
  code: number;
  stdout?: RegExp;
  stderr?: RegExp;
  /** Checks on the files the example left (in the guest's folder for the document, shared with the host). */
  after?: (dir: string) => void;
}

const CTRL_C: ExampleRun['interrupt'] = { output: 'Ctrl-C to stop' };
const BLOCKS = (README_LUN_MIB * 1024 * 1024) / 512;
const dumped = new RegExp(`dumped ${BLOCKS} blocks`);
const restored = new RegExp(`restored ${BLOCKS} blocks`);
// f_mass_storage implements no ATA PASS-THROUGH and its VID:PID is no known bridge: `auto` tries SAT only
// (never a vendor opcode), the probe ends in ILLEGAL REQUEST, and usbms says what it tried (exit 99).
const noSat: Expectation = {
  code: 99,
  stderr:
    /no ATA\/NVMe pass-through \(tried: USB ID 0781:5567 is not in the bridge table; SAT ATA PASS-THROUGH\(16\) IDENTIFY DEVICE: ILLEGAL REQUEST: Invalid command operation code \(05\/20\/00\)\); name one with --bridge/,
};
const size = (file: string) => (dir: string) => expect(fs.statSync(path.join(dir, file)).size).toBeGreaterThan(24);

/** Expectations on the gadget, by document and example (repeated examples take the next entry). */
const EXPECTED: Record<string, Record<string, Expectation[]>> = {
  'README.md': {
    'usbms list': [{ code: 0, stdout: /0781:5567:HILREADME0001/ }],
    'usbms --device 0781:5567 inquiry --json': [{ code: 0, stdout: /"vendor": "Linux"/ }],
    'usbms -d 0 capacity': [{ code: 0, stdout: new RegExp(`Last LBA:\\s+${BLOCKS - 1}\\n`) }],
    'usbms -d 0 tur ; usbms -d 0 sense': [{ code: 0, stdout: /LUN 0: ready\n[\s\S]*No sense data/ }],
    'usbms -d 0 raw c0 01 00 00 00 20 --in 32': [{ code: 9, stdout: /cdb to send: VENDOR SPECIFIC \(0xC0\)[\s\S]*Invalid command operation code/ }],
    'usbms -d 0 read 2048 8 -o blocks.bin': [{ code: 0, after: (d) => expect(fs.statSync(path.join(d, 'blocks.bin')).size).toBe(4096) }],
    'usbms -d 0 write 2048 -i blocks.bin': [{ code: 0, pty: 'yes', stdout: /Type "yes" to continue: [\s\S]*wrote 8 blocks \(4096 bytes\) at LBA 2048/ }],
    'usbms -d 0 dump -o stick.img': [{ code: 0, stdout: dumped }],
    'usbms -d 0 --max-transfer 4M dump -o s.img': [{ code: 0, stdout: dumped }],
    'usbms -d 0 restore -i stick.img --yes': [{ code: 0, stdout: restored }],
    // LUN 0 is not removable: the eject is refused; the bench that follows runs.
    'usbms -d 0 eject ; usbms -d 0 bench': [{ code: 0, stdout: /Sequential read:/ }],
    'usbms -d 0 identify ; usbms -d 0 smart -a': [noSat],
    'usbms -d 0 --pcap bug.pcap raw c0 01 00 00 00 20 --in 32': [{ code: 9, stdout: /VENDOR SPECIFIC \(0xC0\)/, after: size('bug.pcap') }],
    'usbms -d 0 --record bug.txt inquiry': [
      { code: 0, stdout: /Vendor:\s+Linux/, after: (d) => expect(fs.readFileSync(path.join(d, 'bug.txt'), 'utf8')).toMatch(/^usbms-transcript/) },
    ],
    'usbms decode bug.pcap': [{ code: 0, stdout: /INQUIRY[\s\S]*VENDOR SPECIFIC/ }],
    'usbms serve': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C }],
  },
  'packages/node/README.md': {
    'usbms list': [{ code: 0, stdout: /0781:5567:HILREADME0001/ }],
    'usbms watch': [{ code: 130, stdout: /\+ 0781:5567/, interrupt: { output: '+ 0781:5567' } }],
    'usbms --device 0781:5567 inquiry': [{ code: 0, stdout: /Vendor:\s+Linux/ }],
    // f_mass_storage has no VPD pages: EVPD=1 is ILLEGAL REQUEST, invalid field in CDB (exit 5, as sg_inq).
    'usbms inquiry -p sn': [{ code: 5, stderr: /Invalid field in CDB \(05\/24\/00\)/ }],
    'usbms -d 0 capacity': [{ code: 0, stdout: /Block size:\s+512/ }],
    'usbms capacity --16': [{ code: 0, stdout: /Physical block size:\s+512/ }],
    'usbms tur; echo $?': [{ code: 0, stdout: /^LUN 0: ready\n0\n$/ }],
    'usbms tur -n 100': [{ code: 0, stdout: /^Completed 100 Test Unit Ready commands with 0 errors/ }],
    'usbms sense': [{ code: 0, stdout: /No sense data/ }],
    // The gadget refuses REQUEST SENSE with DESC=1 (05/24/00), as sg_requests --desc would report (exit 5).
    'usbms sense --desc': [{ code: 5, stderr: /Invalid field in CDB \(05\/24\/00\)/ }],
    'usbms raw 12 00 00 00 24 00 --in 36': [{ code: 0, stdout: /cdb to send: INQUIRY \[12 00 00 00 24 00\]\nSCSI status: GOOD/ }],
    'usbms raw 2a 00 00 00 00 10 00 00 01 00 --out block.bin': [{ code: 0, stdout: /Data out: 512 bytes/ }],
    // -o -: the data on stdout (into the file), the status on stderr.
    'usbms raw 120000002400 --in 36 -o - > inq.bin': [
      {
        code: 0,
        stderr: /SCSI status: GOOD[\s\S]*written to stdout/,
        after: (d) => expect(fs.readFileSync(path.join(d, 'inq.bin')).subarray(8, 13).toString()).toBe('Linux'),
      },
    ],
    'usbms raw --dry-run 28 0 0 0 0 0 0 0 1 0': [{ code: 0, stdout: /^cdb to send: READ\(10\) \[28 00 00 00 00 00 00 00 01 00\]\ndry run: nothing sent\n$/ }],
    'usbms read 0 1': [{ code: 0, stdout: /^00000000 {2}/ }],
    'usbms write 2048 -i data.bin': [{ code: 0, pty: 'yes', stdout: /wrote 2 blocks \(1024 bytes\) at LBA 2048/ }],
    // Interrupted once it has progress on record, then the same command resumes.
    'usbms dump -o stick.img': [
      { code: 130, interrupt: { partial: 'stick.img.partial.json' }, stderr: new RegExp(`dump stopped at block \\d+ of ${BLOCKS}; stick.img.partial kept`) },
      { code: 0, stdout: new RegExp(`dumped ${BLOCKS} blocks .* \\(resumed\\)`) },
    ],
    'usbms dump -o bad.img --skip-bad': [{ code: 0, stdout: dumped }],
    'usbms restore -i stick.img --yes': [{ code: 0, stdout: restored }],
    // LUN 0 is not removable: f_mass_storage refuses START STOP UNIT with LoEj (05/20/00, exit 9).
    'usbms eject': [{ code: 9, stderr: /START STOP UNIT on LUN 0 failed: ILLEGAL REQUEST/ }],
    'usbms bench --size 64M --turs 200': [{ code: 0, stderr: /warning: --size 64M from LBA 0 runs past the end of the medium/, stdout: /200 commands/ }],
    'usbms identify': [noSat],
    'usbms smart': [noSat],
    'usbms smart -a': [noSat],
    'usbms smart -l error -l selftest -l directory': [noSat],
    'usbms smart -t short ; usbms smart -X': [noSat],
    // A bridge named explicitly: its vendor opcode is sent, and the gadget refuses it (05/20/00, exit 9).
    'usbms smart --bridge nvme-realtek': [
      { code: 9, stderr: /GET LOG PAGE SMART\/HEALTH \(Realtek E4h\) on LUN 0 failed: ILLEGAL REQUEST: Invalid command operation code \(05\/20\/00\)/ },
    ],
    'usbms --pcap run.pcap dump -o card.img': [{ code: 0, stdout: dumped, after: size('run.pcap') }],
    'usbms --record run.txt inquiry': [{ code: 0, stdout: /Vendor:\s+Linux/ }],
    'usbms decode run.pcap': [{ code: 0, stdout: /READ\(10\)/ }],
    'usbms -d 0781:5567 serve --socket ~/usbms.sock': [{ code: 130, stdout: /unix:/, interrupt: CTRL_C }],
    'usbms serve': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C }],
    'usbms serve --listen 0.0.0.0:5181 --allow-origin https://tool.example': [{ code: 130, stdout: /token: \S+/, interrupt: CTRL_C }],
  },
  help: {
    'usbms list': [{ code: 0, stdout: /0781:5567/ }],
    'usbms --device 0781:5567 inquiry': [{ code: 0, stdout: /Vendor:\s+Linux/ }],
    'usbms raw 12 00 00 00 24 00 --in 36': [{ code: 0, stdout: /SCSI status: GOOD/ }],
    'usbms identify ; usbms smart -a ; usbms smart -t short ; usbms smart -l selftest': [noSat],
    'usbms dump -o stick.img': [{ code: 0, stdout: dumped }],
  },
};

/**
 * Resume and its refusal on the device (not documented examples): a dump interrupted, the medium changed
 * under it, the resume refused with both identities; a restore interrupted and resumed. Small commands
 * (--max-transfer 8K) so Ctrl-C lands mid-way.
 */
const RESUME: [string, Expectation][] = [
  ['usbms --max-transfer 8K dump -o r.img', { code: 130, interrupt: { partial: 'r.img.partial.json' }, stderr: /dump stopped at block \d+/ }],
  ['usbms write 0 -i block.bin --yes', { code: 0, stdout: /wrote 1 blocks/ }],
  [
    'usbms dump -o r.img',
    {
      code: 99,
      stderr:
        /refusing to resume the dump in r\.img\.partial: block 0 no longer reads back as when it was copied[\s\S]*this device: .*0781:5567[\s\S]*to start over:/,
    },
  ],
  ['usbms dump -o full.img', { code: 0, stdout: dumped }],
  [
    'usbms --max-transfer 8K restore -i full.img --yes',
    { code: 130, interrupt: { partial: 'full.img.restore.json' }, stderr: /restore stopped after \d+ of \d+ blocks/ },
  ],
  ['usbms restore -i full.img --yes', { code: 0, stdout: new RegExp(`restored ${BLOCKS} blocks .* \\(resumed\\)`) }],
];

/** The same faulty command through the kernel (sg_raw) and through usbms, on the LUN that has the fault. */
const FAULTS: FaultCase[] = [
  { name: 'unsupported opcode', lun: 0, cdb: ['c7', '00', '00', '00', '00', '00', '00', '00', '00', '00'] },
  { name: 'LBA out of range', lun: 0, cdb: ['28', '00', '00', '10', '00', '00', '00', '00', '01', '00'], dataIn: 512 },
  { name: 'no medium', lun: 2, cdb: ['00', '00', '00', '00', '00', '00'] },
  { name: 'write-protect', lun: 1, cdb: ['2a', '00', '00', '00', '00', '00', '00', '00', '01', '00'], dataOut: 512 },
];
/** What each fault must show in usbms's output (the decoded sense). */
const FAULT_SENSE: Record<string, RegExp> = {
  'unsupported opcode': /05\/20\/00/,
  'LBA out of range': /05\/21\/00/,
  'no medium': /02\/3a\/00/i,
  'write-protect': /07\/27\/00/,
};

/** Examples that choose the simulator: they do not touch the device (test/cli/examples.test.ts runs them). */
const usesSimulator = (command: string): boolean => /(^|\s)--sim(=|\s|$)/.test(command);

function documentExamples(): { doc: string; commands: string[] }[] {
  const help = spawnSync(process.execPath, [BIN, '--help'], { env: { ...process.env, USBMS_FROM_SOURCE: '1' }, encoding: 'utf8' }).stdout;
  return [
    ...EXAMPLE_DOCS.map((doc) => ({ doc, commands: examplesOfMarkdown(fs.readFileSync(path.join(REPO_ROOT, doc), 'utf8')) })),
    { doc: 'help', commands: examplesOfHelp(help) },
  ].map(({ doc, commands }) => ({ doc, commands: commands.filter((c) => !usesSimulator(c)) }));
}

let result: CliExamplesResult;
let jobDir = '';
beforeAll(async () => {
  const jobs: ExampleJob[] = [];
  for (const { doc, commands } of documentExamples()) {
    const used = new Map<string, number>();
    for (const command of commands) {
      const n = used.get(command) ?? 0;
      used.set(command, n + 1);
      const e = EXPECTED[doc]?.[command]?.[n];
      jobs.push({ doc, command, run: { ...(e?.pty !== undefined ? { pty: e.pty } : {}), ...(e?.interrupt !== undefined ? { interrupt: e.interrupt } : {}) } });
    }
  }
  for (const [command, e] of RESUME) jobs.push({ doc: 'resume', command, run: { ...(e.interrupt !== undefined ? { interrupt: e.interrupt } : {}) } });
  const cliBundle = await bundleForGuest('packages/node/src/cli/run.ts', 'usbms');
  const script = await bundleForGuest('test/hil/guest/cli-examples.ts', 'cli-examples');
  const run = await runInGuest({
    profile: README_GADGET,
    command: ['node', '--enable-source-maps', script],
    env: { HIL_CLI_BUNDLE: cliBundle, HIL_EXAMPLES: JSON.stringify(jobs), HIL_FAULTS: JSON.stringify(FAULTS) },
    timeoutMs: 900_000,
  });
  jobDir = run.jobDir;
  expect(run.exitCode, `guest stderr:\n${run.stderr}`).toBe(0);
  result = readJobJson<CliExamplesResult>(run, 'cli-examples.json');
}, 960_000);

describe('the CLI on the README gadget (Linux f_mass_storage, 0781:5567)', () => {
  it.each(FAULTS.map((f) => f.name))('%s: usbms exits with the code sg_raw exits with through the kernel driver', (name) => {
    const f = result.faults.find((x) => x.name === name);
    expect(f, `no outcome for ${name}`).toBeDefined();
    if (!f) return;
    const context = JSON.stringify(f, null, 1);
    // sg_raw ran against the kernel's disk and saw the device's answer (not a usage error or an OS error).
    expect(f.sgRaw.device, context).toMatch(/^\/dev\/sd[a-z]+$/);
    expect(f.sgRaw.code, context).not.toBe(0);
    expect([1, 99], context).not.toContain(f.sgRaw.code);
    expect(f.usbms.code, context).toBe(f.sgRaw.code);
    expect(f.usbms.stdout, context).toMatch(FAULT_SENSE[name] as RegExp);
  });

  for (const { doc, commands } of documentExamples()) {
    it(`${doc}: every example, verbatim, in order`, () => {
      const expected = EXPECTED[doc] ?? {};
      expect(new Set(commands)).toEqual(new Set(Object.keys(expected)));
      check(doc, commands, (command, n) => expected[command]?.[n]);
    });
  }

  it('dump resume refused after the medium changed; restore interrupted and resumed', () => {
    check(
      'resume',
      RESUME.map(([c]) => c),
      (_command, _n, i) => RESUME[i]?.[1],
    );
  });
});

/** Checks what the guest ran for `doc` against the expectations, in order. */
function check(doc: string, commands: string[], expectation: (command: string, occurrence: number, index: number) => Expectation | undefined): void {
  const ran = result.examples.filter((x) => x.doc === doc);
  expect(ran.map((x) => x.command)).toEqual(commands);
  const used = new Map<string, number>();
  const dir = path.join(jobDir, 'examples', doc.replace(/\W+/g, '-'));
  ran.forEach((r, i) => {
    const n = used.get(r.command) ?? 0;
    used.set(r.command, n + 1);
    const e = expectation(r.command, n, i);
    expect(e, `no expectation for occurrence ${n + 1} of "${r.command}"`).toBeDefined();
    if (e === undefined) return;
    const context = `${doc}: ${r.command} (${r.ms} ms)\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
    expect(r.code, context).toBe(e.code);
    if (e.stdout !== undefined) expect(r.stdout, context).toMatch(e.stdout);
    if (e.stderr !== undefined) expect(r.stderr, context).toMatch(e.stderr);
    e.after?.(dir);
  });
}
