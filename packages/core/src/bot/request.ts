// One BOT command request before anything is sent: the checks of its fields, and its CBW (BOT 1.0 §5.1).
import { InvalidArgumentError } from '../errors.js';
import { checkTimeout } from '../timer.js';
import type { BotCommandRequest } from './engine.js';
import { CBW_FLAG_DATA_IN, CBW_SIGNATURE, CbwOffset } from './wire.js';

/** Refuses a request the device must never see (InvalidArgumentError), before anything is sent. */
export function validateCommand(req: BotCommandRequest): void {
  const { lun, cdb, direction, length } = req;
  if (!Number.isInteger(lun) || lun < 0 || lun > 15) throw new InvalidArgumentError(`LUN ${lun} is out of range 0-15 (BOT 1.0 §5.1)`);
  if (cdb.length < 1 || cdb.length > 16) throw new InvalidArgumentError(`CDB length ${cdb.length} is out of range 1-16 (BOT 1.0 §5.1)`);
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new InvalidArgumentError(`transfer length ${length} does not fit dCBWDataTransferLength (32 bits)`);
  }
  if (direction === 'none' && length !== 0) throw new InvalidArgumentError(`direction 'none' needs length 0, got ${length}`);
  if (direction === 'out' && (req.data === undefined || req.data.length !== length)) {
    throw new InvalidArgumentError(`data-out needs exactly ${length} bytes of data, got ${req.data?.length ?? 'none'}`);
  }
  if (direction === 'in' && req.into !== undefined && req.into.length < length) {
    throw new InvalidArgumentError(`'into' holds ${req.into.length} bytes, fewer than the ${length} requested`);
  }
  checkTimeout('timeoutMs', req.timeoutMs);
}

/** Writes the CBW of `req` with `tag` into the 31 bytes `view` covers (BOT 1.0 §5.1), reused for every command. */
export function writeCbw(view: DataView, tag: number, req: BotCommandRequest): void {
  const cbw = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const length = req.direction === 'none' ? 0 : req.length;
  view.setUint32(CbwOffset.signature, CBW_SIGNATURE, true);
  view.setUint32(CbwOffset.tag, tag, true);
  view.setUint32(CbwOffset.dataTransferLength, length, true);
  cbw[CbwOffset.flags] = req.direction === 'in' && length > 0 ? CBW_FLAG_DATA_IN : 0x00;
  cbw[CbwOffset.lun] = req.lun;
  cbw[CbwOffset.cdbLength] = req.cdb.length;
  cbw.fill(0, CbwOffset.cdb);
  cbw.set(req.cdb, CbwOffset.cdb);
}
