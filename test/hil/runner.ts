// Boots a Linux guest under QEMU (TCG) with one emulated USB mass-storage device profile, runs one command
// inside it (same node, node_modules, checkout and working directory as the host: the host's root is the
// guest's read-only root over virtio-9p, with a tmpfs overlay, and the checkout is shared explicitly at the
// same path, so one under /tmp, which is the guest's own tmpfs, works too), and returns its output and exit code.
//
//   const run = await startGuest({ profile: 'xhci-storage', command: ['node', 'script.mjs'] });
//   await run.qmp.execute('query-blockstats');   // while the command runs
//   const result = await run.result;             // { exitCode, stdout, stderr, ... }
//
// The job folder (test/hil/.cache/runs/<id>) is shared writable at the same path; the guest sees it as
// $HIL_OUT. Infrastructure failures (QEMU does not start, the guest cannot be prepared, the hard timeout)
// throw HilInfrastructureError: they are never reported as a skipped or passing test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getProfile, type Profile, type ProfileName } from './profiles.js';
import { QmpClient, queryBlockStats } from './qmp.js';
import { type HostRequest, type HostResponse, RPC_DIR, responseFile } from './rpc.js';

export const HIL_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HIL_DIR, '../..');
const CACHE_DIR = process.env.HIL_CACHE_DIR ?? path.join(HIL_DIR, '.cache');
const RUNS_DIR = path.join(CACHE_DIR, 'runs');

export class HilInfrastructureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HilInfrastructureError';
  }
}

export interface GuestEnvironment {
  kernel: string;
  initrd: string;
  kernelVersion: string;
  qemu: string;
}

let setupDone: GuestEnvironment | undefined;

/** Runs setup.sh (idempotent; fast when done) once per process and returns kernel/initrd/QEMU paths. */
export function ensureSetup(): GuestEnvironment {
  if (setupDone) return setupDone;
  const result = spawnSync('bash', [path.join(HIL_DIR, 'setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HIL_CACHE_DIR: CACHE_DIR },
  });
  if (result.status !== 0) {
    throw new HilInfrastructureError(`test/hil/setup.sh failed (exit ${result.status ?? result.signal}); see its output above`);
  }
  const vars = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const get = (key: string): string => {
    const value = vars.get(key);
    if (!value) throw new HilInfrastructureError(`setup.sh did not report ${key}`);
    return value;
  };
  setupDone = {
    kernel: get('HIL_KERNEL'),
    initrd: get('HIL_INITRD'),
    kernelVersion: get('HIL_KERNEL_VERSION'),
    // HIL_QEMU overrides the emulator binary (e.g. a newer build; or /bin/false to check failing loudly).
    qemu: process.env.HIL_QEMU ?? get('HIL_QEMU'),
  };
  return setupDone;
}

export interface GuestOptions {
  profile: ProfileName | Profile;
  /** argv run in the guest (via exec, no shell). */
  command: readonly string[];
  /** Working directory in the guest; default: this process's cwd (the same path exists there). */
  cwd?: string;
  /** Extra environment for the command. */
  env?: Record<string, string>;
  /** Hard limit for the whole boot + command + shutdown; QEMU is killed after it. Default 300 s. */
  timeoutMs?: number;
  memoryMiB?: number;
  cpus?: number;
  /** Copy the guest command's stdout/stderr to this process's stderr as it runs (default: HIL_VERBOSE=1). */
  echo?: boolean;
  /**
   * TCP ports forwarded from the host's 127.0.0.1:PORT to the same port in the guest (QEMU user networking,
   * restricted: the guest reaches nothing else). The guest gets a virtio NIC with 10.0.2.15/24.
   */
  forwardTcp?: readonly number[];
}

export interface GuestResult {
  profile: Profile['name'];
  exitCode: number;
  stdout: string;
  stderr: string;
  serialLog: string;
  jobDir: string;
  /** Wall time from spawning QEMU until it exited. */
  durationMs: number;
  /** Guest uptime when the devices were ready / the command exited (from the serial console). */
  bootSeconds: number | undefined;
  commandDoneSeconds: number | undefined;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function pruneOldRuns(): void {
  if (!fs.existsSync(RUNS_DIR)) return;
  const cutoff = Date.now() - 6 * 3600_000;
  for (const name of fs.readdirSync(RUNS_DIR)) {
    const dir = path.join(RUNS_DIR, name);
    try {
      if (fs.statSync(dir).mtimeMs < cutoff) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another process may be pruning the same folder.
    }
  }
}

function guestSetupScript(profile: Profile): string {
  const { massStorageInterfaces: m, disks: d } = profile.waitFor;
  return `# generated by test/hil/runner.ts for profile ${profile.name}
${profile.guestSetup}
set +e
count_msc() {
  n=0
  for f in /sys/bus/usb/devices/*:*/bInterfaceClass; do
    [ -f "$f" ] && [ "$(cat "$f")" = 08 ] && n=$((n+1))
  done
  echo $n
}
count_disks() {
  n=0
  for b in /sys/block/sd*; do
    [ -f "$b/size" ] && [ "$(cat "$b/size")" != 0 ] && n=$((n+1))
  done
  echo $n
}
i=0
while [ "$(count_msc)" -lt ${m} ] || [ "$(count_disks)" -lt ${d} ]; do
  i=$((i+1))
  if [ $i -ge 600 ]; then
    echo "timed out after 60 s waiting for ${m} mass-storage interface(s) and ${d} SCSI disk(s)"
    echo "usb devices: $(ls /sys/bus/usb/devices | tr '\\n' ' ')"
    echo "block devices: $(ls /sys/block | tr '\\n' ' ')"
    dmesg | tail -50
    exit 1
  fi
  sleep 0.1
done
echo "ready: $(count_msc) mass-storage interface(s), disks: $(ls /sys/block | grep sd | tr '\\n' ' ')"
`;
}

function commandScript(opts: GuestOptions, profile: Profile, jobDir: string): string {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    FORCE_COLOR: '0',
    // Tool caches and temporary files on the guest's tmpfs (the checkout itself is a read-only share).
    HOME: '/tmp/home',
    TMPDIR: '/tmp',
    XDG_CACHE_HOME: '/tmp/.cache',
    npm_config_cache: '/tmp/.npm',
    VITE_CACHE_DIR: '/tmp/.vite',
    HIL_GUEST: '1',
    HIL_OUT: jobDir,
    HIL_PROFILE: profile.name,
    ...(process.env.CI ? { CI: process.env.CI } : {}),
    ...opts.env,
  };
  const cwd = opts.cwd ?? process.cwd();
  return [
    '# generated by test/hil/runner.ts',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    'mkdir -p "$HOME" "$XDG_CACHE_HOME"',
    `cd ${shQuote(cwd)} || exit 126`,
    `exec ${opts.command.map(shQuote).join(' ')}`,
    '',
  ].join('\n');
}

const readIfExists = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

function parseUptime(serial: string, marker: RegExp): number | undefined {
  const m = marker.exec(serial);
  return m?.[1] ? Number(m[1]) : undefined;
}

export interface GuestRun {
  readonly profile: Profile;
  readonly jobDir: string;
  /** Connected once QEMU is up; closed when it exits. */
  readonly qmp: QmpClient;
  readonly result: Promise<GuestResult>;
  /** Kills QEMU now (the result then rejects unless the command already finished). */
  kill(): void;
}

/** Boots the guest and starts the command; resolves once QMP is connected. */
export async function startGuest(opts: GuestOptions): Promise<GuestRun> {
  const env = ensureSetup();
  const profile = typeof opts.profile === 'string' ? getProfile(opts.profile) : opts.profile;
  fs.mkdirSync(RUNS_DIR, { recursive: true });
  pruneOldRuns();
  const jobDir = fs.mkdtempSync(path.join(RUNS_DIR, `${profile.name}-`));
  // Both paths travel on the kernel command line (split at whitespace) and in -fsdev (split at commas).
  for (const shared of [REPO_ROOT, jobDir]) {
    if (/[\s,]/.test(shared)) throw new HilInfrastructureError(`cannot share ${JSON.stringify(shared)} with the guest: whitespace or comma in the path`);
  }
  fs.mkdirSync(path.join(jobDir, RPC_DIR));
  // QMP socket outside the job folder: unix socket paths are limited to 107 bytes.
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-qmp-'));
  const qmpPath = path.join(sockDir, 'qmp.sock');

  const image = (id: string): string => path.join(jobDir, `${id}.img`);
  for (const drive of profile.drives) {
    fs.writeFileSync(image(drive.id), '');
    fs.truncateSync(image(drive.id), drive.sizeMiB * 1024 * 1024);
  }
  fs.writeFileSync(path.join(jobDir, 'guest-setup.sh'), guestSetupScript(profile));
  fs.writeFileSync(path.join(jobDir, 'command.sh'), commandScript(opts, profile, jobDir));

  const args = [
    '-M',
    'pc',
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-smp',
    String(opts.cpus ?? 2),
    '-m',
    String(opts.memoryMiB ?? 1536),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'none',
    '-no-reboot',
    '-kernel',
    env.kernel,
    '-initrd',
    env.initrd,
    '-append',
    `console=ttyS0 panic=-1 loglevel=4 no_timer_check hil.job=${jobDir} hil.repo=${REPO_ROOT}${opts.forwardTcp?.length ? ' hil.net=1' : ''}`,
    '-serial',
    `file:${path.join(jobDir, 'serial.log')}`,
    '-fsdev',
    'local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device',
    'virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot',
    '-fsdev',
    `local,id=fsrepo,path=${REPO_ROOT},security_model=none,readonly=on,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=fsrepo,mount_tag=hostrepo',
    '-fsdev',
    `local,id=fsjob,path=${jobDir},security_model=none,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=fsjob,mount_tag=hostjob',
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    ...profile.qemuArgs(image),
    ...(opts.forwardTcp?.length
      ? [
          '-netdev',
          `user,id=net0,restrict=on,${opts.forwardTcp.map((p) => `hostfwd=tcp:127.0.0.1:${p}-:${p}`).join(',')}`,
          '-device',
          'virtio-net-pci,netdev=net0',
        ]
      : []),
  ];
  fs.writeFileSync(path.join(jobDir, 'qemu-args.json'), JSON.stringify([env.qemu, ...args], null, 1));

  const started = Date.now();
  const child = spawn(env.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let qemuOutput = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (qemuOutput += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (qemuOutput += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let qmp: QmpClient;
  try {
    qmp = await Promise.race([
      QmpClient.connect(qmpPath),
      exited.then((e) => {
        throw new HilInfrastructureError(`QEMU exited before its monitor came up (${e.error?.message ?? `exit ${e.code ?? e.signal}`}):\n${qemuOutput}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    children.delete(child);
    fs.rmSync(sockDir, { recursive: true, force: true });
    throw error instanceof HilInfrastructureError
      ? error
      : new HilInfrastructureError(`QEMU did not start: ${(error as Error).message}\n${qemuOutput}`, { cause: error });
  }

  // Serve guest requests (rpc/req-N.json) and echo output while the guest runs.
  const rpcDir = path.join(jobDir, RPC_DIR);
  const answered = new Set<number>();
  const serveRpc = (): void => {
    let names: string[];
    try {
      names = fs.readdirSync(rpcDir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^req-(\d+)\.json$/.exec(name);
      if (!m?.[1]) continue;
      const n = Number(m[1]);
      if (answered.has(n)) continue;
      answered.add(n);
      let request: HostRequest;
      try {
        request = JSON.parse(fs.readFileSync(path.join(rpcDir, name), 'utf8')) as HostRequest;
      } catch (error) {
        answered.delete(n); // partially written: retry on the next tick
        void error;
        continue;
      }
      void handleHostRequest(qmp, request).then((response) => {
        const file = path.join(rpcDir, responseFile(n));
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(response));
        fs.renameSync(`${file}.tmp`, file);
      });
    }
  };
  const echo = opts.echo ?? process.env.HIL_VERBOSE === '1';
  const echoed = { stdout: 0, stderr: 0 };
  const echoOutput = (): void => {
    if (!echo) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = readIfExists(path.join(jobDir, stream));
      if (text.length > echoed[stream]) {
        process.stderr.write(
          text
            .slice(echoed[stream])
            .replace(/^/gm, `[guest ${profile.name} ${stream}] `)
            .replace(/\[guest [^\]]*\] $/, ''),
        );
        echoed[stream] = text.length;
      }
    }
  };
  const poll = setInterval(() => {
    serveRpc();
    echoOutput();
  }, 25);

  const timeoutMs = opts.timeoutMs ?? 300_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);

  const result = exited.then(({ code, signal, error }) => {
    clearTimeout(timer);
    clearInterval(poll);
    echoOutput();
    children.delete(child);
    qmp.close();
    fs.rmSync(sockDir, { recursive: true, force: true });
    const durationMs = Date.now() - started;
    const serialLog = readIfExists(path.join(jobDir, 'serial.log'));
    const stdout = readIfExists(path.join(jobDir, 'stdout'));
    const stderr = readIfExists(path.join(jobDir, 'stderr'));
    const tail = (s: string): string => s.split('\n').slice(-40).join('\n');
    const context = `\n--- guest stdout (tail) ---\n${tail(stdout)}\n--- guest stderr (tail) ---\n${tail(stderr)}\n--- serial console (tail) ---\n${tail(serialLog)}\n--- QEMU ---\n${qemuOutput}\n(job folder: ${jobDir})`;
    if (timedOut) {
      throw new HilInfrastructureError(`guest (${profile.name}) did not finish within ${timeoutMs} ms; QEMU killed${context}`);
    }
    const setupError = path.join(jobDir, 'setup-error');
    if (fs.existsSync(setupError)) {
      throw new HilInfrastructureError(`guest setup for ${profile.name} failed:\n${fs.readFileSync(setupError, 'utf8')}${context}`);
    }
    const exitFile = path.join(jobDir, 'exit-code');
    if (!fs.existsSync(exitFile)) {
      throw new HilInfrastructureError(
        `QEMU (${profile.name}) exited (${error?.message ?? `code ${code ?? signal}`}) before the guest command finished${context}`,
      );
    }
    return {
      profile: profile.name,
      exitCode: Number(fs.readFileSync(exitFile, 'utf8').trim()),
      stdout,
      stderr,
      serialLog,
      jobDir,
      durationMs,
      bootSeconds: parseUptime(serialLog, /HIL: devices ready \(([\d.]+)s\)/),
      commandDoneSeconds: parseUptime(serialLog, /HIL: command exited with \d+ \(([\d.]+)s\)/),
    } satisfies GuestResult;
  });
  // Callers that only use `result` later must not see an unhandled rejection in between.
  result.catch(() => undefined);

  return {
    profile,
    jobDir,
    qmp,
    result,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Boots, runs the command, waits for it: the common case. */
export async function runInGuest(opts: GuestOptions): Promise<GuestResult> {
  const run = await startGuest(opts);
  return run.result;
}

async function handleHostRequest(qmp: QmpClient, request: HostRequest): Promise<HostResponse> {
  try {
    switch (request.op) {
      case 'qmp':
        return { ok: true, value: await qmp.execute(request.command, request.arguments) };
      case 'blockstats':
        return { ok: true, value: await queryBlockStats(qmp) };
      case 'device-del': {
        const deleted = qmp.waitForEvent((e) => e.event === 'DEVICE_DELETED' && e.data?.device === request.id, request.timeoutMs ?? 30_000);
        deleted.catch(() => undefined);
        await qmp.execute('device_del', { id: request.id });
        if (request.waitDeleted ?? true) await deleted;
        return { ok: true, value: null };
      }
      default:
        return { ok: false, error: `unknown host request ${JSON.stringify(request)}` };
    }
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Reads a JSON file the guest command wrote into $HIL_OUT. */
export function readJobJson<T>(result: Pick<GuestResult, 'jobDir'>, name: string): T {
  const file = path.join(result.jobDir, name);
  if (!fs.existsSync(file)) throw new Error(`the guest command did not write ${name} (job folder ${result.jobDir})`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
