/**
 * Helpers for the simulator's own tests (not exported from the package; no
 * test-framework imports so a build may include it harmlessly).
 */

import { CSW_SIGNATURE } from '../bot/wire.js';
import type { SimulatedDevice } from './device.js';
import { type RawResult, runRawCommand } from './raw-host.js';

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export interface Outcome {
  /** CSW status (0 passed, 1 failed, 2 phase error). */
  status: number;
  residue: number;
  data: Uint8Array;
  raw: RawResult;
}

/** Runs one command through the raw host and checks the CSW is valid. */
export async function run(sim: SimulatedDevice, cdb: number[], stage: { in?: number; out?: Uint8Array; lun?: number } = {}): Promise<Outcome> {
  const raw = await runRawCommand(sim.transport, {
    cdb,
    lun: stage.lun ?? 0,
    direction: stage.in !== undefined ? 'in' : stage.out ? 'out' : 'none',
    length: stage.in ?? stage.out?.length ?? 0,
    ...(stage.out ? { data: stage.out } : {}),
  });
  const csw = raw.csw;
  if (csw?.signature !== CSW_SIGNATURE) throw new Error(`no valid CSW: ${hex(raw.cswBytes)}`);
  return { status: csw.status, residue: csw.residue, data: raw.data, raw };
}

/** REQUEST SENSE (fixed format) → [key, asc, ascq, information?, raw]. */
export async function senseOf(sim: SimulatedDevice, lun = 0): Promise<{ key: number; asc: number; ascq: number; info: number | undefined; raw: Uint8Array }> {
  const r = await run(sim, [0x03, 0, 0, 0, 18, 0], { in: 18, lun });
  if (r.status !== 0) throw new Error(`REQUEST SENSE failed with CSW status ${r.status}`);
  const d = r.data;
  const valid = ((d[0] ?? 0) & 0x80) !== 0;
  const info = valid ? new DataView(d.buffer, d.byteOffset).getUint32(3, false) : undefined;
  return { key: (d[2] ?? 0) & 0x0f, asc: d[12] ?? 0, ascq: d[13] ?? 0, info, raw: d };
}

export function cdb10(opcode: number, lba: number, blocks: number, byte1 = 0): number[] {
  return [opcode, byte1, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0];
}

export function cdb16(opcode: number, lba: number, blocks: number, byte1 = 0): number[] {
  const out = new Array<number>(16).fill(0);
  out[0] = opcode;
  out[1] = byte1;
  const hi = Math.floor(lba / 0x1_0000_0000);
  const lo = lba >>> 0;
  out[2] = (hi >>> 24) & 0xff;
  out[3] = (hi >>> 16) & 0xff;
  out[4] = (hi >>> 8) & 0xff;
  out[5] = hi & 0xff;
  out[6] = (lo >>> 24) & 0xff;
  out[7] = (lo >>> 16) & 0xff;
  out[8] = (lo >>> 8) & 0xff;
  out[9] = lo & 0xff;
  out[10] = (blocks >>> 24) & 0xff;
  out[11] = (blocks >>> 16) & 0xff;
  out[12] = (blocks >>> 8) & 0xff;
  out[13] = blocks & 0xff;
  return out;
}

/** Distinct bytes per block, so misplaced data shows. */
export function pattern(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return out;
}
