// BotFault: a protocol fault the engine finds itself (bad CBW send, bad CSW, phase error); it always ends in reset recovery (BOT 1.0 §5.3.4, §6.3).
import type { UsbmsError } from '../errors.js';

/**
 * A protocol fault found by the engine itself (not thrown by the transport):
 * it always leads to reset recovery, then `error` is thrown to the caller.
 */
export class BotFault {
  constructor(readonly error: UsbmsError) {}
}
