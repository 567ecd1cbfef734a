/**
 * A deliberately small Bulk-Only host for tests that want to see the wire:
 * one CBW, the data stage, the CSW, with the minimum handling BOT 1.0 §6.7
 * requires (clear a stalled pipe, then read the CSW). No retries, no reset
 * recovery, no residue judgement: it reports what happened.
 */
import { CSW_LENGTH, type Csw, decodeCsw, encodeCbw } from '../bot/wrappers.js';
import type { MscTransport } from '../transport.js';

/**
 * One command for {@link runRawCommand}. The CBW carries `lun`, `tag`,
 * `direction` and `length` as given, even when they do not fit the CDB, so
 * tests can provoke the mismatched host/device cases of BOT 1.0 §6.7; only the
 * field ranges of BOT 1.0 §5.1 are checked (InvalidArgumentError).
 */
export interface RawCommand {
  cdb: Uint8Array | number[];
  lun?: number;
  direction?: 'none' | 'in' | 'out';
  /** dCBWDataTransferLength (default: data.length for 'out', 0 for 'none'). */
  length?: number;
  data?: Uint8Array;
  tag?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What {@link runRawCommand} saw on the wire, without judging it. */
export interface RawResult {
  /** The decoded CSW, or undefined when the CSW read did not return 13 bytes. */
  csw: Csw | undefined;
  /** Raw bytes of the status read (after any retry). */
  cswBytes: Uint8Array;
  /** Data-in bytes received. */
  data: Uint8Array;
  /** What the data stage returned: 'ok', 'stall', 'babble', or 'none' when there was none. */
  dataStatus: 'ok' | 'stall' | 'babble' | 'none';
  bytesWritten: number;
  /** Status of the first CSW read attempt ('ok', 'stall' or 'babble'). */
  firstCswStatus: 'ok' | 'stall' | 'babble';
}

let nextTag = 1;

/** Sends one command over `transport` and reads its CSW. */
export async function runRawCommand(transport: MscTransport, command: RawCommand): Promise<RawResult> {
  const cdb = command.cdb instanceof Uint8Array ? command.cdb : Uint8Array.from(command.cdb);
  const direction = command.direction ?? (command.data ? 'out' : 'none');
  const length = command.length ?? (direction === 'out' ? (command.data?.length ?? 0) : 0);
  const tag = command.tag ?? nextTag++;
  const opts = { timeoutMs: command.timeoutMs ?? 5000, ...(command.signal ? { signal: command.signal } : {}) };
  const cbw = encodeCbw({ tag, dataTransferLength: length, direction: direction === 'in' ? 'in' : 'out', lun: command.lun ?? 0, cdb });
  await transport.bulkOut(cbw, opts);
  let data: Uint8Array = new Uint8Array(0);
  let dataStatus: RawResult['dataStatus'] = 'none';
  let bytesWritten = 0;
  if (length > 0 && direction === 'in') {
    const r = await transport.bulkIn(length, opts);
    data = r.data;
    dataStatus = r.status;
    if (r.status === 'stall') await transport.clearHalt('in', opts);
  } else if (length > 0 && direction === 'out') {
    const r = await transport.bulkOut(command.data ?? new Uint8Array(length), opts);
    bytesWritten = r.bytesWritten;
    dataStatus = r.status;
    if (r.status === 'stall') await transport.clearHalt('out', opts);
  }
  let r = await transport.bulkIn(CSW_LENGTH, opts);
  const firstCswStatus = r.status;
  // BOT 1.0 §6.7: a stalled CSW read is retried once after CLEAR HALT; Linux also retries a zero-length read.
  if (r.status === 'stall') {
    await transport.clearHalt('in', opts);
    r = await transport.bulkIn(CSW_LENGTH, opts);
  } else if (r.status === 'ok' && r.data.length === 0) {
    r = await transport.bulkIn(CSW_LENGTH, opts);
  }
  const cswBytes = r.data.slice();
  return {
    csw: cswBytes.length === CSW_LENGTH ? decodeCsw(cswBytes) : undefined,
    cswBytes,
    data: data.slice(),
    dataStatus,
    bytesWritten,
    firstCswStatus,
  };
}

/** Bulk-Only reset recovery (BOT 1.0 §5.3.4): class reset, then clear both halts. */
export async function rawResetRecovery(transport: MscTransport, timeoutMs = 5000): Promise<void> {
  await transport.classRequest({ request: 'bulk-only-reset' }, { timeoutMs });
  await transport.clearHalt('in', { timeoutMs });
  await transport.clearHalt('out', { timeoutMs });
}
