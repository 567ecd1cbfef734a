// Device benchmark: usbms vs the Linux kernel driver on real device implementations in the QEMU guest.
//   node --conditions=source --import tsx bench/devices/run.ts [--profiles a,b] [--repeat N]
// One boot per profile (test/hil/runner.ts), each running guest.ts (bundled by test/hil/bundle.ts).
// Prints per device a table, then the ratio table (usbms best / kernel best) as the last lines, and
// writes test-output/bench/devices.json. BENCH_MIB, BENCH_SIZES (KiB list), BENCH_TURS pass through.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForGuest } from '../../test/hil/bundle.js';
import type { ProfileName } from '../../test/hil/profiles.js';
import { REPO_ROOT, readJobJson, runInGuest } from '../../test/hil/runner.js';
import type { BenchResult, Throughput } from './types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_PROFILES: ProfileName[] = ['xhci-storage', 'ehci-storage', 'bot-2lun', 'gadget-hs', 'gadget-ss'];

const argv = process.argv.slice(2);
if (argv.includes('--backends')) {
  // The backend comparison (usbfs vs usb vs the kernel): its own guest script and report.
  const { runBackends } = await import('./run-backends.js');
  process.exit(await runBackends(argv));
}
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const profiles = (flag('--profiles')?.split(',') ?? DEFAULT_PROFILES) as ProfileName[];
const repeat = Number(flag('--repeat') ?? '1');
// Guest vCPUs (default 2, as the HIL suite): with 1, every wake-up of node-usb's completion path stays on one vCPU.
const cpus = Number(flag('--cpus') ?? '2');
const outFile = path.resolve(REPO_ROOT, flag('--out') ?? 'test-output/bench/devices.json');

const setup = spawnSync('bash', [path.join(HERE, 'setup.sh')], { stdio: 'inherit' });
if (setup.status !== 0) {
  console.error('bench/devices/setup.sh failed (sg3-utils is needed for sg_turs)');
  process.exit(1);
}

const bundle = await bundleForGuest(path.join(HERE, 'guest.ts'), 'bench-devices');
// The guest sees the host's filesystem at the same paths.
const passEnv: Record<string, string> = { BENCH_USBFS_FLOOR: path.join(HERE, 'usbfs-floor.py') };
for (const k of ['BENCH_MIB', 'BENCH_SIZES', 'BENCH_TURS']) {
  const v = process.env[k];
  if (v !== undefined) passEnv[k] = v;
}

const results: BenchResult[] = [];
let failed = false;
for (let r = 0; r < repeat; r++) {
  for (const profile of profiles) {
    const started = Date.now();
    console.error(`[bench] ${profile}: booting (run ${r + 1}/${repeat}) ...`);
    try {
      const run = await runInGuest({
        profile,
        command: ['node', '--enable-source-maps', bundle],
        env: passEnv,
        timeoutMs: 600_000,
        cpus,
        echo: process.env.BENCH_QUIET !== '1',
      });
      const bench = readJobJson<BenchResult>(run, 'bench.json');
      if (run.exitCode !== 0) {
        failed = true;
        bench.notes.push(`guest exited ${run.exitCode}: ${run.stderr.split('\n').slice(-8).join(' | ')}`);
        console.error(`[bench] ${profile}: guest exited ${run.exitCode}\n${run.stderr}`);
      }
      results.push(bench);
      console.error(`[bench] ${profile}: ${((Date.now() - started) / 1000).toFixed(0)} s wall (devices ready at ${run.bootSeconds ?? '?'} s)`);
    } catch (error) {
      failed = true;
      console.error(`[bench] ${profile}: ${(error as Error).message}`);
    }
  }
}

// --- report ---------------------------------------------------------------------------------------

const mb = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(1));
const us = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(0));
const pad = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 8)).join('  ');

interface Ratio {
  profile: string;
  readBest: number;
  readBestSize: number;
  kernelRead: number;
  writeBest: number;
  writeBestSize: number;
  kernelWrite: number;
  readRatio: number;
  writeRatio: number;
  usbmsTurUs: number;
  kernelTurUs: number;
  turRatio: number;
}

const best = <T>(xs: T[], key: (x: T) => number): T | undefined => xs.reduce<T | undefined>((a, b) => (a === undefined || key(b) > key(a) ? b : a), undefined);
const minDefined = (...xs: (number | undefined)[]): number => Math.min(...xs.filter((x): x is number => x !== undefined));

const ratios: Ratio[] = [];
const lines: string[] = [];
for (const b of results) {
  lines.push('', `## ${b.profile}: ${b.description} (${b.speed ?? '?'} speed, ${b.volumeBytes / 2 ** 20} MiB per measurement)`);
  const w = [22, 10, 10, 12, 12];
  lines.push(pad(['', 'read MB/s', 'write MB/s', 'rd ms/cmd', 'rd xfer/cmd'], w));
  for (const pass of [1, 2]) {
    for (const bs of ['120K', '1M'] as const) {
      const rd = b.kernel.find((k) => k.pass === pass && k.bs === bs && k.op === 'read');
      const wr = b.kernel.find((k) => k.pass === pass && k.bs === bs && k.op === 'write');
      if (rd || wr) lines.push(pad([`kernel dd bs=${bs} #${pass}`, mb(rd?.mbps), mb(wr?.mbps)], w));
    }
  }
  // Rows in run order: as shipped, one transfer at a time, as shipped again.
  const tags: Record<string, string> = { default: '', serial: ' serial', 'default#2': ' #2', fresh: ' fresh', 'status-with-data': ' +sts' };
  for (const variant of Object.keys(tags)) {
    for (const rd of b.usbms.read.filter((x) => x.variant === variant)) {
      const tag = tags[variant] ?? variant;
      const wr = b.usbms.write.find((x) => x.variant === variant && x.commandBytes === rd.commandBytes);
      lines.push(
        pad([`usbms ${rd.commandBytes / 1024} KiB${tag}`, mb(rd.mbps), mb(wr?.mbps), rd.msPerCommand.toFixed(1), rd.transfersPerCommand?.toFixed(2) ?? '-'], w),
      );
    }
  }
  lines.push(
    `TEST UNIT READY mean round trip: kernel sg_turs ${us(b.kernelTur?.meanUs)} / ${us(b.kernelTur2?.meanUs)} us; ` +
      `usbms ${us(b.usbmsTur?.meanUs)} / ${us(b.usbmsTur2?.meanUs)} us (p50 ${us(b.usbmsTur?.p50Us)}, p90 ${us(b.usbmsTur?.p90Us)}); ` +
      `usbms serial ${us(b.usbmsTurSerial?.meanUs)} us; bare node-usb ${us(b.rawNodeUsbTur?.meanUs)} us; synchronous usbfs ioctls ${us(b.usbfsTur?.meanUs)} us`,
  );
  if (b.earlyStatusKept !== undefined) {
    lines.push(`early status read: ${b.earlyStatusKept ? 'kept (the device NAKs until its CSW is ready)' : 'turned off after the device stalled one'}`);
  }
  if (b.heap) {
    const m = (n: number): string => (n / 2 ** 20).toFixed(1);
    lines.push(
      `heap over a ${b.heap.bytesRead / 2 ** 20} MiB read (1 MiB commands, fresh buffers): heapUsed first ${m(b.heap.firstHeapUsed)} / peak ${m(b.heap.peakHeapUsed)} / ` +
        `steady ${m(b.heap.steadyHeapUsed)} / last ${m(b.heap.lastHeapUsed)} MiB; rss peak ${m(b.heap.peakRss)} steady ${m(b.heap.steadyRss)} MiB; arrayBuffers peak ${m(b.heap.peakArrayBuffers)} MiB`,
    );
  }
  for (const n of b.notes) lines.push(`note: ${n}`);
  // usbms as shipped (either run), at its best command size.
  const shipped = (x: Throughput): boolean => x.variant === 'default' || x.variant === 'default#2' || x.variant === 'fresh';
  const rBest = best(b.usbms.read.filter(shipped), (x) => x.mbps);
  const wBest = best(b.usbms.write.filter(shipped), (x) => x.mbps);
  const kRead = best(
    b.kernel.filter((k) => k.op === 'read'),
    (k) => k.mbps,
  );
  const kWrite = best(
    b.kernel.filter((k) => k.op === 'write'),
    (k) => k.mbps,
  );
  if (rBest && wBest && kRead && kWrite && b.usbmsTur && b.kernelTur) {
    const uTur = minDefined(b.usbmsTur.meanUs, b.usbmsTur2?.meanUs);
    const kTur = minDefined(b.kernelTur.meanUs, b.kernelTur2?.meanUs);
    ratios.push({
      profile: b.profile,
      readBest: rBest.mbps,
      readBestSize: rBest.commandBytes,
      kernelRead: kRead.mbps,
      writeBest: wBest.mbps,
      writeBestSize: wBest.commandBytes,
      kernelWrite: kWrite.mbps,
      readRatio: rBest.mbps / kRead.mbps,
      writeRatio: wBest.mbps / kWrite.mbps,
      usbmsTurUs: uTur,
      kernelTurUs: kTur,
      turRatio: uTur / kTur,
    });
  }
}

lines.push(
  '',
  '## ratios: usbms as shipped at its best command size / kernel at its best (dd O_DIRECT 120K or 1M, either pass); TUR: usbms / kernel time (lower is better)',
);
const rw = [14, 22, 10, 8, 22, 10, 8, 9, 9, 6];
lines.push(pad(['device', 'usbms read MB/s', 'kernel', 'ratio', 'usbms write MB/s', 'kernel', 'ratio', 'TUR us', 'kernel', 'ratio'], rw));
for (const r of ratios) {
  lines.push(
    pad(
      [
        r.profile,
        `${mb(r.readBest)} @${r.readBestSize / 1024}K`,
        mb(r.kernelRead),
        `${r.readRatio.toFixed(2)}x`,
        `${mb(r.writeBest)} @${r.writeBestSize / 1024}K`,
        mb(r.kernelWrite),
        `${r.writeRatio.toFixed(2)}x`,
        us(r.usbmsTurUs),
        us(r.kernelTurUs),
        `${r.turRatio.toFixed(2)}x`,
      ],
      rw,
    ),
  );
}

fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(
  outFile,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      guestCpus: cpus,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${os.release()}, node ${process.version}`,
      results,
      ratios,
    },
    null,
    1,
  ),
);
console.log(lines.join('\n'));
console.error(`[bench] JSON: ${path.relative(process.cwd(), outFile)}`);
process.exit(failed ? 1 : 0);
