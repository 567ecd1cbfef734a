/** Runs the real `usbms` binary (packages/node/bin/usbms.mjs) as a subprocess, for the CLI suites. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../packages/node/bin/usbms.mjs', import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for `-o -`). */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  cwd: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Bytes for stdin (closed after); stdin is /dev/null otherwise. */
  input?: Uint8Array | string;
}

export function runUsbms(args: string[], options: RunOptions): Promise<Run> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    // USBMS_FROM_SOURCE: test the sources even when a (possibly stale) dist/ was built.
    env: { ...process.env, NO_COLOR: '1', USBMS_FROM_SOURCE: '1', ...options.env },
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => chunks.push(d));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`usbms ${args.join(' ')} did not finish in time\nstdout: ${Buffer.concat(chunks).toString()}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(chunks);
      resolve({ code, signal, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
  });
  return Object.assign(done, { child });
}
