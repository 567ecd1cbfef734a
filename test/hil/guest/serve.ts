// Runs inside the QEMU guest (bundled on the host by bundle.ts): `usbms serve`'s RemoteServer over the
// real (emulated) USB device with @usbms/node, on WebSocket and a Unix socket, and 50 client connections
// from 6 client processes (the bundle of test/serve/client-worker.ts), plus a victim process killed with
// SIGKILL while its read is on the wire and an exclusive session from this process: 8 processes in all.
// The device's own trace (command-start / command-end, in the server) is the wire order. Everything is
// written to $HIL_OUT/serve.json for serve.test.ts to assert.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TraceEvent } from '@usbms/core';
import { connectRemote, listDevices, listenUnixSocket, listenWebSocket, openDevice, RemoteServer } from '@usbms/node';

const OUT = process.env.HIL_OUT ?? '.';
const CLIENT = process.env.HIL_SERVE_CLIENT_BUNDLE ?? '';
const TOKEN = 'hil-serve-token-0123456789abcdef';
const PROCESSES = [9, 9, 8, 8, 8, 8];
const READS = 4;

interface WireCommand {
  id: number;
  lba: number;
  opcode: number;
  start: number;
  end?: number;
  outcome?: string;
}

const lbaOf = (cdb: Uint8Array): number => (((cdb[2] ?? 0) << 24) | ((cdb[3] ?? 0) << 16) | ((cdb[4] ?? 0) << 8) | (cdb[5] ?? 0)) >>> 0;

function run(args: string[]): { kill: () => void; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    kill: () => child.kill('SIGKILL'),
    done: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))),
  };
}

const [info] = await listDevices();
if (!info) throw new Error('no mass-storage device in the guest');
const device = await openDevice(info, { defaultTimeoutMs: 60_000 });
const wire: WireCommand[] = [];
const open = new Map<number, WireCommand>();
let overlaps = 0;
const recoveries: string[] = [];
device.onTrace((e: TraceEvent) => {
  if (e.type === 'command-start') {
    if (open.size > 0) overlaps++;
    const c: WireCommand = { id: e.id, lba: lbaOf(e.cdb), opcode: e.cdb[0] ?? 0, start: e.time };
    open.set(e.id, c);
    wire.push(c);
  } else if (e.type === 'command-end') {
    const c = open.get(e.id);
    open.delete(e.id);
    if (c) {
      c.end = e.time;
      c.outcome = e.outcome;
    }
  } else if (e.type === 'recovery') {
    recoveries.push(`${e.step}: ${e.detail ?? ''}`);
  }
});

const server = new RemoteServer({ tokens: [{ token: TOKEN, readOnly: false }] });
server.addDevice(device);
const ws = await listenWebSocket(server, { host: '127.0.0.1', port: 0, allowedOrigins: [] });
const unix = await listenUnixSocket(server, path.join(process.env.TMPDIR ?? '/tmp', 'usbms-serve.sock'));

// The victim: a 256-block read of LBA 3000, killed once it is on the wire.
const victim = run([ws.url, unix.url, TOKEN, '0', '0', '0']);
const deadline = Date.now() + 120_000;
while (!wire.some((c) => c.opcode === 0x28 && c.lba === 3000) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const victimOnWire = wire.some((c) => c.opcode === 0x28 && c.lba === 3000);
victim.kill();
const victimExit = await victim.done;

const started = Date.now();
let first = 0;
const workers = PROCESSES.map((count) => {
  const w = run([ws.url, unix.url, TOKEN, String(first), String(count), String(READS)]);
  first += count;
  return w;
});

// An exclusive session from this process while the workers run.
await new Promise((r) => setTimeout(r, 3000));
const holder = await connectRemote(ws.url, { token: TOKEN });
const session = await holder.device().acquireExclusive({ leaseMs: 30_000 });
for (let i = 0; i < 5; i++) await holder.device().lun(0).read(4000, 1);
await session.release();
holder.close();

const results = await Promise.all(workers.map((w) => w.done));
const seconds = (Date.now() - started) / 1000;
const reports = results.map((r) => {
  try {
    return { exit: r.code, ...(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { settled?: number; problems?: string[] }) };
  } catch {
    return { exit: r.code, settled: 0, problems: [`unparsable output: ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 500)}`] };
  }
});

// Per-client command counts, exclusive window, fairness, from the wire order.
const clients = first;
const order = wire.filter((c) => (c.opcode === 0x28 || c.opcode === 0x2a) && c.lba >= 100 && c.lba < 100 + clients).map((c) => c.lba - 100);
const perClient = Array.from({ length: clients }, (_, i) => order.filter((c) => c === i).length);
const held = wire.map((c, i) => (c.opcode === 0x28 && c.lba === 4000 ? i : -1)).filter((i) => i >= 0);
const insideExclusive = held.length > 0 ? wire.slice(held[0], (held.at(-1) ?? 0) + 1).filter((c) => !(c.opcode === 0x28 && c.lba === 4000)).length : -1;
let worstRepeat = 0;
const last = new Map<number, number>();
order.forEach((client, i) => {
  const prev = last.get(client);
  if (prev !== undefined) {
    const counts = new Map<number, number>();
    for (const c of order.slice(prev + 1, i)) counts.set(c, (counts.get(c) ?? 0) + 1);
    worstRepeat = Math.max(worstRepeat, ...counts.values(), 0);
  }
  last.set(client, i);
});
const victimCommand = wire.find((c) => c.opcode === 0x28 && c.lba === 3000);

await ws.close();
await unix.close();
await server.close();

fs.writeFileSync(
  path.join(OUT, 'serve.json'),
  JSON.stringify(
    {
      clients,
      processes: PROCESSES.length + 2,
      reads: READS,
      seconds,
      reports,
      perClient,
      overlaps,
      recoveries,
      victimOnWire,
      victimSignal: victimExit.signal,
      victimOutcome: victimCommand?.outcome ?? null,
      heldReads: held.length,
      insideExclusive,
      worstRepeat,
      commands: wire.length,
    },
    null,
    2,
  ),
);
