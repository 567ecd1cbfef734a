// Inside the HIL guest, on the README gadget (Linux f_mass_storage with the README's VID:PID 0781:5567):
//  1. faults: the same faulty command on the same LUN through the kernel (sg_raw over SG_IO, the kernel's
//     usb-storage bound) and through usbms (`usbms raw`, interface claimed in userspace); exit codes,
//     status and sense of both;
//  2. examples: every documented `usbms` example (the list comes from the host, HIL_EXAMPLES), run
//     verbatim by bash with the real CLI as `usbms` on PATH, prompts answered through a pseudo-terminal,
//     in document order, each document in its own folder under $HIL_OUT/examples (the host checks the
//     files left there).
// Writes $HIL_OUT/cli-examples.json.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ExampleRun, type Outcome, runExample } from '../../cli/examples-lib.js';
import { hilOut, writeResult } from './host.js';

export interface ExampleJob {
  doc: string;
  command: string;
  run: ExampleRun;
}

export interface FaultCase {
  name: string;
  lun: number;
  /** CDB bytes, one hex byte per word (sg_raw's syntax, and usbms raw's). */
  cdb: string[];
  dataIn?: number;
  dataOut?: number;
}

export interface FaultOutcome {
  name: string;
  sgRaw: { code: number | null; stderr: string; device: string };
  usbms: { code: number | null; stdout: string; stderr: string };
}

export interface CliExamplesResult {
  faults: FaultOutcome[];
  examples: (ExampleJob & Outcome & { ms: number })[];
}

const out = hilOut();
const cliBundle = process.env.HIL_CLI_BUNDLE;
if (!cliBundle) throw new Error('HIL_CLI_BUNDLE is not set');
const examples = JSON.parse(process.env.HIL_EXAMPLES ?? '[]') as ExampleJob[];
const faults = JSON.parse(process.env.HIL_FAULTS ?? '[]') as FaultCase[];

// `usbms` on PATH: the real CLI (bundled), as a user's shell would find it.
const bin = path.join(out, 'bin');
fs.mkdirSync(bin, { recursive: true });
fs.writeFileSync(path.join(bin, 'usbms'), `#!/bin/sh\nexec "${process.execPath}" "${cliBundle}" "$@"\n`, { mode: 0o755 });
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };

/** The kernel's block device of each LUN of the gadget (usb-storage bound), from sysfs. */
function kernelDisks(): Map<number, string> {
  const disks = new Map<number, string>();
  const root = '/sys/bus/scsi/devices';
  for (const hctl of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const m = /^\d+:\d+:\d+:(\d+)$/.exec(hctl);
    if (!m) continue;
    const real = fs.realpathSync(path.join(root, hctl));
    if (!real.includes('/usb')) continue;
    const block = path.join(root, hctl, 'block');
    const names = fs.existsSync(block) ? fs.readdirSync(block) : [];
    if (names[0]) disks.set(Number(m[1]), `/dev/${names[0]}`);
  }
  return disks;
}

async function waitForDisks(luns: number, timeoutMs: number): Promise<Map<number, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const disks = kernelDisks();
    if (disks.size >= luns) return disks;
    if (Date.now() > deadline) throw new Error(`the kernel did not bind ${luns} disks within ${timeoutMs} ms (have ${JSON.stringify([...disks])})`);
    await sleep(100);
  }
}

const result: CliExamplesResult = { faults: [], examples: [] };
const dataFile = path.join(out, 'fault-data.bin');
fs.writeFileSync(dataFile, randomBytes(512));
const luns = Math.max(...faults.map((f) => f.lun), 0) + 1;

for (const fault of faults) {
  // The kernel path first (usb-storage bound), then usbms (detaches it; re-attaches on exit).
  const disks = await waitForDisks(luns, 30_000);
  const device = disks.get(fault.lun) ?? '';
  // -R: open the disk read-only (a read-only LUN's node refuses O_RDWR before any command is sent); SG_IO
  // still sends every command for root.
  const sgArgs = [
    '-R',
    ...(fault.dataIn !== undefined ? ['-r', String(fault.dataIn)] : []),
    ...(fault.dataOut !== undefined ? ['-s', String(fault.dataOut), '-i', dataFile] : []),
    device,
    ...fault.cdb,
  ];
  const sg = spawnSync('sg_raw', sgArgs, { encoding: 'utf8', timeout: 60_000 });
  const usbmsArgs = [
    '-d',
    '0',
    '--lun',
    String(fault.lun),
    'raw',
    ...fault.cdb,
    ...(fault.dataIn !== undefined ? ['--in', String(fault.dataIn)] : []),
    ...(fault.dataOut !== undefined ? ['--out', dataFile] : []),
  ];
  const u = spawnSync(path.join(bin, 'usbms'), usbmsArgs, { encoding: 'utf8', timeout: 120_000, env });
  result.faults.push({
    name: fault.name,
    sgRaw: { code: sg.status, stderr: `${sg.stderr ?? ''}${sg.error ? String(sg.error) : ''}`.slice(0, 4000), device },
    usbms: { code: u.status, stdout: (u.stdout ?? '').slice(0, 4000), stderr: (u.stderr ?? '').slice(0, 4000) },
  });
  writeResult('cli-examples.json', result);
}

for (const job of examples) {
  const dir = path.join(out, 'examples', job.doc.replace(/\W+/g, '-'));
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    // Input files the examples name (as the simulator suite prepares them).
    fs.writeFileSync(path.join(dir, 'block.bin'), randomBytes(512));
    fs.writeFileSync(path.join(dir, 'data.bin'), randomBytes(1024));
    const mbr = new Uint8Array(512);
    mbr.set([0xeb, 0x3c, 0x90]);
    mbr.set([0x55, 0xaa], 510);
    fs.writeFileSync(path.join(dir, 'mbr.bin'), mbr);
    fs.writeFileSync(path.join(dir, 'boot.bin'), mbr);
  }
  // Each usbms run re-attaches the kernel driver on exit; let it settle as a user's next command would find it.
  await waitForDisks(1, 30_000).catch(() => undefined);
  const started = performance.now();
  // HOME on the guest's tmpfs (the job folder is a 9p share, where a Unix socket cannot be created).
  const home = path.join('/tmp/hil-home', job.doc.replace(/\W+/g, '-'));
  fs.mkdirSync(home, { recursive: true });
  const outcome = await runExample(job.command, dir, job.run, { ...env, HOME: home }, 300_000).catch(
    (e: unknown): Outcome => ({ code: -1, stdout: '', stderr: String(e) }),
  );
  result.examples.push({
    ...job,
    ...outcome,
    stdout: outcome.stdout.slice(0, 20_000),
    stderr: outcome.stderr.slice(0, 8000),
    ms: Math.round(performance.now() - started),
  });
  writeResult('cli-examples.json', result);
}
