/**
 * The one parser for numbers and sizes on the command line, with
 * sg3_utils' conventions (sg_lib.c `sg_get_num`): a plain number is decimal,
 * `0x` prefix or `h` suffix is hex; K, M, G, T and KiB, MiB, GiB, TiB are
 * binary (1024-based); KB, MB, GB, TB are decimal (1000-based). Case does not
 * matter (`64m` = `64M`). sg3_utils' other multipliers (`b` = 512, `w` = 2,
 * `c` = 1, `x` products) are not accepted: a size is bytes or one of the above.
 */
import { usageError } from './exit.js';

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const DECIMAL: Record<string, number> = { k: 1000, m: 1000 ** 2, g: 1000 ** 3, t: 1000 ** 4 };

/** A non-negative integer: decimal, `0x1f` or `1fh`. Undefined when it is not one. */
export function parseCount(text: string): number | undefined {
  const t = text.trim();
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(t)) n = Number.parseInt(t.slice(2), 16);
  else if (/^[0-9a-f]+h$/i.test(t)) n = Number.parseInt(t.slice(0, -1), 16);
  else if (/^\d+$/.test(t)) n = Number.parseInt(t, 10);
  else return undefined;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * A byte count with an optional unit: "4096", "0x1000", "64M" (= 64 MiB),
 * "64MiB", "64MB" (= 64 000 000), "1.5G" is refused (whole numbers only).
 */
export function parseSize(text: string): number | undefined {
  const plain = parseCount(text);
  if (plain !== undefined) return plain;
  const m = /^(\d+)\s*([kmgt])(i?b)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const suffix = (m[3] ?? '').toLowerCase();
  const scale = suffix === 'b' ? DECIMAL[unit] : BINARY[unit];
  if (scale === undefined) return undefined;
  const n = Number.parseInt(m[1] ?? '', 10) * scale;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Units accepted by size options, for messages and help. */
export const SIZE_UNITS_HELP = 'K/M/G/T or KiB/MiB/GiB/TiB = 1024-based, KB/MB/GB/TB = 1000-based';

/** A count option (`--lba 2048`, `--lba 0x800`); usage error (exit 1) when malformed or out of range. */
export function countOption(name: string, text: string | undefined, fallback: number, bounds: { min?: number; max?: number } = {}): number {
  if (text === undefined) return fallback;
  const n = parseCount(text);
  if (n === undefined) throw usageError(`--${name} must be a non-negative integer (decimal or 0x hex), got "${text}"`);
  checkBounds(name, text, n, bounds);
  return n;
}

/** A size option (`--size 64M`); usage error (exit 1) when malformed or out of range. */
export function sizeOption(name: string, text: string | undefined, fallback: number, bounds: { min?: number; max?: number; multipleOf?: number } = {}): number {
  if (text === undefined) return fallback;
  const n = parseSize(text);
  if (n === undefined) throw usageError(`--${name} must be a size in bytes (e.g. 4096, 64K, 4M; ${SIZE_UNITS_HELP}), got "${text}"`);
  checkBounds(name, text, n, bounds);
  if (bounds.multipleOf !== undefined && n % bounds.multipleOf !== 0) {
    throw usageError(`--${name} must be a multiple of ${bounds.multipleOf} bytes, got "${text}" (${n})`);
  }
  return n;
}

function checkBounds(name: string, text: string, n: number, bounds: { min?: number; max?: number }): void {
  if (bounds.min !== undefined && n < bounds.min) throw usageError(`--${name} must be at least ${bounds.min}, got "${text}"`);
  if (bounds.max !== undefined && n > bounds.max) throw usageError(`--${name} must be at most ${bounds.max}, got "${text}"`);
}

/**
 * Commands per block I/O call of the CLI (read, write, bench, dump, restore): one call of that
 * many commands goes as one pipeline (MscDevice.runRawMany), the next CBW chained behind each CSW.
 */
export const COMMANDS_PER_CALL = 16;

/** Blocks per READ/WRITE command (the device's `maxTransferBytes`) and per block I/O call of the CLI. */
export function ioBlocks(maxTransferBytes: number, blockSize: number): { command: number; call: number } {
  const command = Math.max(1, Math.floor(maxTransferBytes / blockSize));
  return { command, call: command * COMMANDS_PER_CALL };
}
