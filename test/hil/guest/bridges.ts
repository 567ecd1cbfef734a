// Guest side of test/hil/bridges.test.ts (bundled on the host by bundle.ts). Profile `bridge-gadget`: dummy_hcd,
// one configfs gadget per bridge kind (usb_gadget/bN, N = the kind's index in BRIDGE_KINDS) with a FunctionFS
// function mounted at /dev/ffs-bN, and ums-cypress loaded (usb-storage leaves 04b4:6830 to it). For each
// kind, in turn:
//  1. the gadget gets that bridge's VID:PID; guest/sim-target.ts runs the simulator's emulation of the bridge
//     (with a drive inside) at command level; the recording gadget (guest/bot-gadget.py --sim) serves it;
//  2. the kernel's usb-storage binds and makes a disk; `smartctl -d <type> -a -j` runs on it (the reference);
//  3. usbms (usbfs, the kernel driver detached) sends the same requests along the explicit bridge route;
//  4. the gadget is unbound, the processes stopped.
// Everything lands in $HIL_OUT/bridges.json: per kind the smartctl JSON, usbms's decoded answers, and the CDBs
// (with data-out heads) the gadget logged during each phase.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BRIDGE_KINDS,
  type BridgeKind,
  identifyDevice,
  type NvmeBridgeKind,
  nvmeIdentifyController,
  nvmeIdentifyNamespace,
  nvmeSmartHealthLog,
  runAtaVia,
  runNvme,
  SMARTCTL_DEVICE_TYPE,
  selectBridge,
  smartReadData,
  smartReadErrorLog,
  smartReadSelfTestLog,
  smartReadThresholds,
  smartReturnStatus,
} from '@usbms/core';
import { openDevice } from '@usbms/node';
import { simTargetDevice } from './sim-bridges.js';

const OUT = process.env.HIL_OUT ?? '/tmp';
const SIM_TARGET = process.env.HIL_SIM_TARGET_BUNDLE ?? '';
const GADGET = process.env.HIL_BOT_GADGET ?? '';
const result: Record<string, unknown> = { kernel: os.release(), smartctl: smartctlVersion(), kinds: {} };
const kinds = result.kinds as Record<string, unknown>;
const save = (): void =>
  fs.writeFileSync(
    path.join(OUT, 'bridges.json'),
    JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2),
  );

function smartctlVersion(): string {
  const r = spawnSync('/usr/sbin/smartctl', ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0] ?? '';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** The SCSI disk of the USB device vid:pid, once it has a size (usb-storage bound, sd probed). */
function diskOf(vendorId: number, productId: number): string | undefined {
  for (const name of fs.readdirSync('/sys/block')) {
    if (!name.startsWith('sd')) continue;
    try {
      let dir = fs.realpathSync(path.join('/sys/block', name, 'device'));
      // Walk up to the USB device (the folder with idVendor).
      while (dir !== '/' && !fs.existsSync(path.join(dir, 'idVendor'))) dir = path.dirname(dir);
      if (dir === '/') continue;
      const vid = fs.readFileSync(path.join(dir, 'idVendor'), 'utf8').trim();
      const pid = fs.readFileSync(path.join(dir, 'idProduct'), 'utf8').trim();
      if (vid !== hex4(vendorId) || pid !== hex4(productId)) continue;
      if (fs.readFileSync(path.join('/sys/block', name, 'size'), 'utf8').trim() === '0') continue;
      return `/dev/${name}`;
    } catch {
      // a disk going away while we look (the previous kind's)
    }
  }
  return undefined;
}

interface GadgetLine {
  kind: string;
  cdb?: string;
  direction?: string;
  length?: number;
  head?: string;
  tag?: number;
  status?: number;
}

function readLog(file: string): GadgetLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as GadgetLine);
}

/** The commands of a slice of the gadget log: CDB, direction, length, data-out head, CSW status. */
function commands(lines: GadgetLine[]): Array<{ cdb: string; direction: string; length: number; dataOut?: string; status?: number }> {
  const out: Array<{ cdb: string; direction: string; length: number; dataOut?: string; status?: number }> = [];
  for (const line of lines) {
    const last = out[out.length - 1];
    if (line.kind === 'cbw') out.push({ cdb: line.cdb ?? '', direction: line.direction ?? '', length: line.length ?? 0 });
    else if (line.kind === 'data-out' && last !== undefined) last.dataOut = line.head ?? '';
    else if (line.kind === 'csw' && last !== undefined) last.status = line.status ?? -1;
  }
  return out;
}

function startProcess(command: string, args: string[], logFile: string): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** What usbms answers along the explicit route of `kind` (the requests `usbms identify` + `usbms smart -a` make). */
async function usbmsRun(kind: BridgeKind, vendorId: number, productId: number): Promise<Record<string, unknown>> {
  const device = await openDevice(`${hex4(vendorId)}:${hex4(productId)}`);
  try {
    const route = await selectBridge(device, kind);
    if (route.family === 'nvme') {
      const nvme = kind as NvmeBridgeKind;
      const controller = await runNvme(device, nvme, nvmeIdentifyController());
      const namespace = await runNvme(device, nvme, nvmeIdentifyNamespace(1));
      const health = await runNvme(device, nvme, nvmeSmartHealthLog());
      const { powerStateDescriptors: _p, ...controllerFields } = controller;
      return { route, controller: controllerFields, namespace, health };
    }
    const identify = await runAtaVia(device, route, identifyDevice());
    const health = await runAtaVia(device, route, smartReturnStatus());
    const thresholds = await runAtaVia(device, route, smartReadThresholds());
    const smart = await runAtaVia(device, route, smartReadData(thresholds));
    const out: Record<string, unknown> = { route, identify: { ...identify, raw: undefined }, health, smart };
    // SMART logs: the error log and the self-test log (JMicron and Cypress carry them as any PIO read).
    out.errorLog = await runAtaVia(device, route, smartReadErrorLog()).catch((e: Error) => ({ error: e.message }));
    out.selfTestLog = await runAtaVia(device, route, smartReadSelfTestLog()).catch((e: Error) => ({ error: e.message }));
    return out;
  } finally {
    await device.close();
  }
}

async function runKind(kind: BridgeKind, index: number): Promise<Record<string, unknown>> {
  const info = simTargetDevice(kind).info;
  const ids = { vendorId: info?.vendorId ?? 0, productId: info?.productId ?? 0 };
  const gadget = `/sys/kernel/config/usb_gadget/b${index}`;
  fs.writeFileSync(path.join(gadget, 'idVendor'), `0x${hex4(ids.vendorId)}`);
  fs.writeFileSync(path.join(gadget, 'idProduct'), `0x${hex4(ids.productId)}`);
  fs.writeFileSync(path.join(gadget, 'strings/0x409/serialnumber'), `HIL-${kind.toUpperCase()}`);
  const socket = path.join(os.tmpdir(), `sim-${kind}.sock`);
  const gadgetLog = path.join(OUT, `gadget-${kind}.jsonl`);
  const sim = startProcess(
    process.execPath,
    ['--enable-source-maps', SIM_TARGET, '--kind', kind, '--socket', socket],
    path.join(OUT, `sim-target-${kind}.log`),
  );
  let bot: ChildProcess | undefined;
  try {
    await waitFor(`sim-target ${kind} socket`, 60_000, () => (fs.existsSync(socket) ? true : undefined));
    bot = startProcess(
      '/usr/bin/python3',
      [GADGET, '--ffs', `/dev/ffs-b${index}`, '--sim', socket, '--log', gadgetLog, '--udc-file', path.join(gadget, 'UDC'), '--udc', 'dummy_udc.0'],
      path.join(OUT, `gadget-${kind}.out`),
    );
    const disk = await waitFor(`the ${kind} gadget's disk (${hex4(ids.vendorId)}:${hex4(ids.productId)})`, 60_000, () => diskOf(ids.vendorId, ids.productId));
    const probe = readLog(gadgetLog).length;
    const t0 = Date.now();
    const sc = spawnSync('/usr/sbin/smartctl', ['-j', '-d', SMARTCTL_DEVICE_TYPE[kind], '-a', disk], { encoding: 'utf8', timeout: 120_000 });
    const smartctlMs = Date.now() - t0;
    const afterSmartctl = readLog(gadgetLog).length;
    let smartctl: unknown;
    try {
      smartctl = { exitCode: sc.status, json: JSON.parse(sc.stdout) };
    } catch {
      smartctl = { exitCode: sc.status, stdout: sc.stdout.slice(0, 20_000), stderr: sc.stderr.slice(0, 5_000) };
    }
    let usbms: unknown;
    const t1 = Date.now();
    try {
      usbms = { ok: true, data: await usbmsRun(kind, ids.vendorId, ids.productId) };
    } catch (error) {
      usbms = { ok: false, error: { name: (error as Error).name, message: (error as Error).message, stack: (error as Error).stack } };
    }
    const usbmsMs = Date.now() - t1;
    const lines = readLog(gadgetLog);
    return {
      ids,
      disk,
      smartctl,
      usbms,
      ms: { smartctl: smartctlMs, usbms: usbmsMs },
      cdbs: { probe: commands(lines.slice(0, probe)), smartctl: commands(lines.slice(probe, afterSmartctl)), usbms: commands(lines.slice(afterSmartctl)) },
    };
  } finally {
    try {
      fs.writeFileSync(path.join(gadget, 'UDC'), '\n');
    } catch {
      // the gadget never bound
    }
    if (bot) await stop(bot);
    await stop(sim);
    await waitFor(`the ${kind} disk to go`, 30_000, () => (diskOf(ids.vendorId, ids.productId) === undefined ? true : undefined)).catch(() => undefined);
  }
}

for (const [index, kind] of BRIDGE_KINDS.entries()) {
  try {
    kinds[kind] = { ok: true, data: await runKind(kind, index) };
  } catch (error) {
    kinds[kind] = { ok: false, error: { name: (error as Error).name, message: (error as Error).message, stack: (error as Error).stack } };
  }
  save();
}
save();
