// The kernel's side of a device benchmark, in the guest: dd with O_DIRECT through usb-storage and
// sg_turs through SG_IO, on the disk and sg node the kernel made for the device.
import { spawnSync } from 'node:child_process';
import { KiB, MiB } from './guest-config.js';
import type { KernelRun, TurResult } from './types.js';

/** dd's own "N bytes ... copied, S s" line: its timing excludes process start-up. */
function dd(args: string[]): { bytes: number; seconds: number } {
  const run = spawnSync('dd', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`dd ${args.join(' ')} failed: ${run.stderr}`);
  const m = /(\d+) bytes .* copied, ([\d.e+-]+) s/.exec(run.stderr);
  if (!m?.[1] || !m[2]) throw new Error(`cannot parse dd output: ${run.stderr}`);
  return { bytes: Number(m[1]), seconds: Number(m[2]) };
}

/** `volume` bytes written then read with O_DIRECT, at the kernel's command sizes below SuperSpeed (120K) and at it (1M). */
export function kernelThroughput(disk: string, volume: number, pass: number, log: (line: string) => void): KernelRun[] {
  const out: KernelRun[] = [];
  for (const [label, bs] of [
    ['120K', 120 * KiB],
    ['1M', MiB],
  ] as const) {
    const count = Math.floor(volume / bs);
    const run = (op: KernelRun['op'], args: string[]): KernelRun => {
      const { bytes, seconds } = dd(args);
      return { pass, op, bs: label, bytes, seconds, mbps: bytes / seconds / 1e6 };
    };
    const w = run('write', ['if=/dev/zero', `of=/dev/${disk}`, 'oflag=direct', `bs=${bs}`, `count=${count}`, 'conv=notrunc']);
    const r = run('read', [`if=/dev/${disk}`, 'of=/dev/null', 'iflag=direct', `bs=${bs}`, `count=${count}`]);
    out.push(w, r);
    log(`kernel pass ${pass} bs=${label}: read ${r.mbps.toFixed(1)} MB/s, write ${w.mbps.toFixed(1)} MB/s`);
  }
  return out;
}

/** `count` TEST UNIT READY commands by sg_turs; its own timing where it prints one, else the wall time. */
export function kernelTur(sg: string, count: number): TurResult {
  const started = performance.now();
  const r = spawnSync('sg_turs', ['-n', String(count), '-t', `/dev/${sg}`], { encoding: 'utf8' });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`sg_turs failed (${r.status}): ${r.stderr}${r.stdout}`);
  // "time to perform commands was 1.234567 secs; 243.12 operations/sec"
  const m = /was ([\d.]+) secs/.exec(`${r.stdout}\n${r.stderr}`);
  const seconds = m?.[1] ? Number(m[1]) : wallMs / 1000;
  return { count, meanUs: (seconds * 1e6) / count, wallMs };
}
