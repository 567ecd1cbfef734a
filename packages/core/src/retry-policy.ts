/**
 * What the typed command path does after a CHECK CONDITION: a pure decision over the sense data and the
 * retries left, so every rule is testable without a device. `MscDevice.run` carries it out.
 */
import { type SenseData, SenseKey } from './sense/types.js';

/** Budget and clock of one command's retries. */
export interface RetryState {
  /** UNIT ATTENTION 29/xx retries left for this command. */
  unitAttentionRetriesLeft: number;
  /** `now()` at the moment of the decision, and until when "becoming ready" may be waited out. */
  now: number;
  becomingReadyDeadline: number;
}

export type RetryDecision =
  /** POWER ON, RESET OR BUS DEVICE RESET OCCURRED (29/xx): the command was not executed (SAM-5 §5.14); send it again. */
  | { action: 'retry'; reason: 'power-on-reset' }
  /** LOGICAL UNIT IS IN PROCESS OF BECOMING READY (04/01, SPC-4 table 41): the medium spins up; wait, then send it again. */
  | { action: 'wait-and-retry'; reason: 'becoming-ready' }
  /** DATA PROTECT with WRITE PROTECTED (27/xx): fail as WriteProtectedError; the LUN is known to be write-protected. */
  | { action: 'fail'; error: 'write-protected' }
  /**
   * Any other condition, or a retry budget spent: fail as ScsiCheckConditionError. `mediumChanged` when
   * the sense is NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (28/xx): cached capacity is stale.
   */
  | { action: 'fail'; error: 'check-condition'; mediumChanged: boolean };

export function decideRetry(sense: SenseData | undefined, state: RetryState): RetryDecision {
  if (sense?.senseKey === SenseKey.UnitAttention) {
    if (sense.asc === 0x28) return { action: 'fail', error: 'check-condition', mediumChanged: true };
    if (sense.asc === 0x29 && state.unitAttentionRetriesLeft > 0) return { action: 'retry', reason: 'power-on-reset' };
  } else if (sense?.senseKey === SenseKey.NotReady && sense.asc === 0x04 && sense.ascq === 0x01 && state.now < state.becomingReadyDeadline) {
    return { action: 'wait-and-retry', reason: 'becoming-ready' };
  } else if (sense?.senseKey === SenseKey.DataProtect && sense.asc === 0x27) {
    return { action: 'fail', error: 'write-protected' };
  }
  return { action: 'fail', error: 'check-condition', mediumChanged: false };
}
