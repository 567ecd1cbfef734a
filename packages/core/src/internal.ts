/**
 * `@usbms/core/internal`: plumbing shared by `@usbms/node` and `@usbms/web`:
 * the Bulk-Only wire layout their transports read (the engine in this package
 * builds and checks every CBW and CSW), the remote protocol's frame codec and
 * subprotocol for the server, listener fan-out, ID formatting. Not part of the public API: it may change in any release.
 *
 * @internal
 * @module
 */
export {
  BotRequest,
  bcdFromVersion,
  CBW_FLAG_DATA_IN,
  CBW_LENGTH,
  CBW_MAX_CDB_LENGTH,
  CBW_SIGNATURE,
  CbwOffset,
  CSW_LENGTH,
  CSW_SIGNATURE,
  CswOffset,
  CswStatus,
  hex4,
} from './bot/wire.js';
export { type BotDirection, type Cbw, type Csw, decodeCbw, decodeCsw, encodeCbw, encodeCsw } from './bot/wrappers.js';
export { describeInterfaces, type MscAlternateLike, type MscConfigurationLike } from './device-interfaces.js';
export { withoutStack } from './errors.js';
export { Listeners } from './listeners.js';
export { REMOTE_SUBPROTOCOL } from './remote/client.js';
export {
  decodeExecute,
  decodeFrame,
  decodeIdBody,
  decodeValueBody,
  EXECUTE_FIXED_BYTES,
  ExecuteFlag,
  type ExecuteFrame,
  encodeExecute,
  encodeIdFrame,
  encodeResult,
  encodeTraceEventFrame,
  encodeValueFrame,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameType,
  REMOTE_PROTOCOL_VERSION,
} from './remote/frames.js';
export { createPortPair, LENGTH_PREFIX_BYTES, LengthPrefixedDecoder, lengthPrefixed } from './remote/port.js';
export { endedInFull } from './transport.js';
