// Guest side of the runner: where to write results, and requests to the host (QMP) through the shared job
// folder (see ../rpc.ts). Only meaningful inside the QEMU guest started by ../runner.ts.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DriveStats } from '../qmp.js';
import { type HostRequest, type HostResponse, RPC_DIR, requestFile, responseFile } from '../rpc.js';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this script runs inside the HIL guest (test/hil/runner.ts)`);
  return value;
}

export const hilOut = (): string => requireEnv('HIL_OUT');
export const hilProfile = (): string => requireEnv('HIL_PROFILE');

export function writeResult(name: string, value: unknown): void {
  const file = path.join(hilOut(), name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}

let nextRequest = 0;

/** Sends a request to the host runner and waits for its answer (polling the 9p share). */
export async function callHost<T>(request: HostRequest, timeoutMs = 60_000): Promise<T> {
  const dir = path.join(hilOut(), RPC_DIR);
  const n = nextRequest++;
  const req = path.join(dir, requestFile(n));
  fs.writeFileSync(`${req}.tmp`, JSON.stringify(request));
  fs.renameSync(`${req}.tmp`, req);
  const res = path.join(dir, responseFile(n));
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(res)) {
    if (Date.now() > deadline) throw new Error(`host did not answer ${JSON.stringify(request)} within ${timeoutMs} ms`);
    await sleep(20);
  }
  const response = JSON.parse(fs.readFileSync(res, 'utf8')) as HostResponse;
  if (!response.ok) throw new Error(`host request ${request.op} failed: ${response.error}`);
  return response.value as T;
}

export const blockStats = (): Promise<DriveStats[]> => callHost<DriveStats[]>({ op: 'blockstats' });

/** Flush counter of one QEMU drive (`-drive id=`). */
export async function flushCount(driveId: string): Promise<number> {
  const stats = await blockStats();
  const drive = stats.find((s) => s.device === driveId);
  if (!drive) throw new Error(`no drive ${driveId} in query-blockstats (${stats.map((s) => s.device).join(', ')})`);
  return drive.flushOperations;
}
