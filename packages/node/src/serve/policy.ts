import { hostname } from 'node:os';
import { ScsiOpcode, ScsiServiceAction, type SerializedUsbmsError, serializeError, UsbmsError, UsbmsErrorCode } from '@usbms/core';

/**
 * Opcodes a read-only token may send: commands that neither change the medium
 * nor the device's settings (SPC-4 §4.2 / annex D, SBC-3 §5). Everything else,
 * vendor-specific opcodes (0xC0-0xFF, SPC-4 §4.2.5.1) included, is refused unless the
 * server was started with them in `--allow-vendor`.
 */
export const READ_ONLY_OPCODES: ReadonlySet<number> = new Set<number>([
  ScsiOpcode.TestUnitReady,
  ScsiOpcode.RequestSense,
  ScsiOpcode.Read6,
  ScsiOpcode.Inquiry,
  ScsiOpcode.ModeSense6,
  ScsiOpcode.ReadFormatCapacities,
  ScsiOpcode.ReadCapacity10,
  ScsiOpcode.Read10,
  ScsiOpcode.ModeSense10,
  ScsiOpcode.Read16,
  ScsiOpcode.ReportLuns,
  ScsiOpcode.Read12,
  ScsiOpcode.SynchronizeCache10,
  ScsiOpcode.SynchronizeCache16,
]);

/** Why a read-only client may not send this command, or undefined when it may. */
export function readOnlyRefusal(
  cdb: Uint8Array,
  direction: 'none' | 'in' | 'out',
  writesMedium: boolean,
  allowVendor: ReadonlySet<number>,
): string | undefined {
  const opcode = cdb[0] ?? 0;
  if (direction === 'out' || writesMedium) return 'commands with data-out or that write the medium are not allowed with a read-only token';
  // SERVICE ACTION IN(16) is allowed for READ CAPACITY(16) only (SBC-3 §5.16).
  if (opcode === ScsiOpcode.ServiceActionIn16 && ((cdb[1] ?? 0) & 0x1f) === ScsiServiceAction.ReadCapacity16) return undefined;
  if (READ_ONLY_OPCODES.has(opcode) || allowVendor.has(opcode)) return undefined;
  return `opcode 0x${opcode.toString(16).padStart(2, '0')} is not allowed with a read-only token`;
}

const PATH = /(?:[A-Za-z]:\\|\\\\|\/)(?:[\w.@%+~-]+[\\/])+[\w.@%+~-]*/g;
const HOST = hostname();

/** A string as a client may see it: no file paths, no host name. */
export function scrubText(text: string): string {
  let out = text.replace(PATH, '<path>');
  if (HOST.length > 2) out = out.split(HOST).join('<host>');
  return out;
}

function scrubValue(value: unknown, depth: number): unknown {
  if (depth > 8) return undefined;
  if (typeof value === 'string') return scrubText(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (/path|file|dir/i.test(k)) continue;
      out[k] = scrubValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * The error as sent to a client: the usbms error whole (class, code, details,
 * cause chain), with file paths and the host name taken out of every string.
 * Errors that are not usbms errors (bugs, platform errors) become a TRANSPORT
 * error with their message scrubbed and no stack.
 */
export function clientError(error: unknown): SerializedUsbmsError {
  const serialized = serializeError(error);
  const out = scrubValue(serialized, 0) as SerializedUsbmsError;
  if (!(error instanceof UsbmsError)) out.code = UsbmsErrorCode.Transport;
  return out;
}
