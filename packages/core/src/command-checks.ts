/**
 * The checks a command passes before it is queued, so that bad input never reaches the wire: the
 * LUN range, the shape of a raw request (`MscDevice.execute`), and the read-only option's refusal
 * of write-class commands (typed and raw alike).
 */
import type { ExecuteRequest } from './device-options.js';
import { InvalidArgumentError, ReadOnlyError } from './errors.js';
import { ataReadOnlyRefusal } from './sat/read-only.js';
import type { DataDirection } from './scsi/command.js';
import * as scsi from './scsi/index.js';

/** A checked raw request: what one queue job sends. */
export type Transaction = {
  name: string;
  cdb: Uint8Array;
  direction: DataDirection;
  length: number;
  data?: Uint8Array | undefined;
  timeoutMs?: number | undefined;
  /** Mark the LUN for SYNCHRONIZE CACHE at close (execute's `flush`). */
  flush?: boolean | undefined;
};

/** Throws InvalidArgumentError unless `lun` is an integer from 0 to `maxLun`. */
export function checkLun(lun: number, maxLun: number): void {
  if (!Number.isInteger(lun) || lun < 0 || lun > maxLun) {
    throw new InvalidArgumentError(`LUN ${lun} does not exist: the device has LUNs 0-${maxLun}`);
  }
}

/**
 * The checks of a raw request (`MscDevice.execute`), before anything is sent: LUN range, CDB length
 * (BOT 1.0 §5.1 bCBWCBLength), direction against data and length. Returns what the queue job sends.
 */
export function checkExecuteRequest(request: ExecuteRequest, lun: number, maxLun: number): Transaction {
  checkLun(lun, maxLun);
  const { cdb, direction } = request;
  if (!(cdb instanceof Uint8Array) || cdb.length < 1 || cdb.length > 16) {
    throw new InvalidArgumentError(`CDB must be 1-16 bytes (BOT 1.0 §5.1), got ${cdb?.length ?? 'none'}`);
  }
  let length = 0;
  if (direction === 'in') {
    if (request.data !== undefined) throw new InvalidArgumentError('direction "in" takes a length, not data');
    length = request.length ?? 0;
    if (!Number.isInteger(length) || length < 1 || length > 0xffffffff) {
      throw new InvalidArgumentError(`direction "in" needs a length of 1 to 4294967295 bytes, got ${request.length}`);
    }
  } else if (direction === 'out') {
    if (!(request.data instanceof Uint8Array) || request.data.length === 0) {
      throw new InvalidArgumentError('direction "out" needs non-empty data');
    }
    if (request.length !== undefined && request.length !== request.data.length) {
      throw new InvalidArgumentError(`length ${request.length} does not match data size ${request.data.length}`);
    }
    length = request.data.length;
  } else if (direction === 'none') {
    if (request.data !== undefined || (request.length ?? 0) !== 0) {
      throw new InvalidArgumentError('direction "none" takes neither data nor a length');
    }
  } else {
    throw new InvalidArgumentError(`direction must be "none", "in" or "out", got ${String(direction)}`);
  }
  const name = request.name ?? scsi.opcodeName(cdb[0] ?? 0);
  return { name, cdb, direction, length, data: request.data, flush: request.flush === true };
}

/** The read-only option: refuses write-class opcodes and any data-out before anything is sent. */
export function refuseIfReadOnly(
  readOnly: boolean,
  command: { name: string; cdb: Uint8Array; direction: DataDirection; writesMedium?: boolean | undefined },
): void {
  // A command that declares `writesMedium: false` vouches that it changes nothing (defineCommand's
  // contract: a data-out that only sends a key, or a USB bridge's NVMe command block whose NVMe command
  // passed the bridge layer's read-only allowlist). Write-class opcodes are refused all the same.
  if (readOnly && command.writesMedium === false) {
    if (scsi.isWriteClassOpcode(command.cdb)) throw new ReadOnlyError(`${command.name} refused: the device was opened read-only`);
    return;
  }
  if (readOnly && (command.writesMedium || command.direction === 'out' || scsi.isWriteClassOpcode(command.cdb))) {
    throw new ReadOnlyError(`${command.name} refused: the device was opened read-only`);
  }
  // SAT-4 ATA PASS-THROUGH: read-only is an allowlist of ATA reads, whatever the direction.
  const ata = readOnly ? ataReadOnlyRefusal(command.cdb) : undefined;
  if (ata !== undefined) throw new ReadOnlyError(`${command.name} refused: ${ata} is not an ATA read, and the device was opened read-only`);
}
