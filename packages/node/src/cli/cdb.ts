/**
 * CDB and inline data syntax of `usbms raw`.
 *
 * sg_raw (sg3_utils 1.46) reads one byte per word: each word is parsed with
 * strtol(word, 16) and must be 0x00-0xff, so `12 0 0 0 24 0` is six bytes and
 * `0x12`, `012` are 0x12. usbms does the same, and adds one extension: a
 * single word of an even number (more than two) of hex digits is the whole
 * CDB (`120000002400`). Mixing the two (`12 0000 24`) is an error naming the
 * word. Words are also split at whitespace, so a quoted "12 00 00 00 24 00" works.
 */
import { usageError } from './exit.js';

/** SCSI CDBs are at least 6 bytes (sg_raw's MIN_SCSI_CDBSZ); BOT's CBWCB holds at most 16 (USB MSC BOT 1.0 §5.1). */
export const MIN_CDB_BYTES = 6;
export const MAX_CDB_BYTES = 16;

/** One sg_raw byte word: optional sign and 0x prefix, hex digits, value 0-255 (strtol base 16 semantics). */
function byteOfWord(word: string): number | undefined {
  const m = /^([+-]?)(?:0x)?([0-9a-f]+)$/i.exec(word);
  if (m === null) return undefined;
  const value = Number.parseInt(m[2] ?? '', 16);
  if (m[1] === '-' && value !== 0) return undefined;
  return value <= 0xff ? value : undefined;
}

function wordsOf(args: readonly string[]): string[] {
  return args.flatMap((a) => a.split(/\s+/)).filter((w) => w.length > 0);
}

/** Parses the CDB words of `usbms raw`; usage errors name the offending word. */
export function parseCdb(args: readonly string[]): Uint8Array {
  const words = wordsOf(args);
  if (words.length === 0) throw usageError('no CDB given (e.g. usbms raw 12 00 00 00 24 00 --in 36)');
  let bytes: number[];
  const only = words[0] ?? '';
  if (words.length === 1 && only.length > 2 && /^(?:0x)?[0-9a-f]+$/i.test(only)) {
    const digits = only.replace(/^0x/i, '');
    if (digits.length % 2 !== 0) {
      throw usageError(
        `CDB word "${only}" has an odd number of hex digits: give one byte per word (12 00 00 00 24 00) or the whole CDB as one word of byte pairs (120000002400)`,
      );
    }
    bytes = [];
    for (let i = 0; i < digits.length; i += 2) bytes.push(Number.parseInt(digits.slice(i, i + 2), 16));
  } else {
    bytes = words.map((word) => {
      const b = byteOfWord(word);
      if (b === undefined) {
        const hint = /^(?:0x)?[0-9a-f]+$/i.test(word)
          ? 'it is more than one byte: give one byte per word (12 00 00 00 24 00), or the whole CDB as a single word (120000002400), not a mix'
          : 'it is not a hex byte (00-ff)';
        throw usageError(`invalid CDB byte "${word}": ${hint}`);
      }
      return b;
    });
  }
  if (bytes.length < MIN_CDB_BYTES) throw usageError(`CDB too short: ${bytes.length} bytes (SCSI CDBs have at least ${MIN_CDB_BYTES})`);
  if (bytes.length > MAX_CDB_BYTES) {
    throw usageError(`CDB too long: ${bytes.length} bytes (a Bulk-Only CBW carries at most ${MAX_CDB_BYTES}, USB MSC BOT 1.0 §5.1)`);
  }
  return new Uint8Array(bytes);
}

/**
 * Inline data for `--data`: hex bytes in any spacing ("de ad be ef",
 * "deadbeef", "de:ad,be ef", with or without 0x per byte).
 */
export function parseHexData(text: string): Uint8Array {
  const words = text
    .split(/[\s,:]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/^0x/i, ''));
  const bad = words.find((w) => !/^[0-9a-f]+$/i.test(w) || (w.length > 1 && w.length % 2 === 1));
  const digits = words.map((w) => (w.length === 1 ? `0${w}` : w)).join('');
  if (bad !== undefined) throw usageError(`--data must be hex bytes (e.g. "de ad be ef" or deadbeef), got "${text}" ("${bad}" is not hex byte pairs)`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}
