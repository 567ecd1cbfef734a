import { describe, expect, it } from 'vitest';
import { decideRetry, type RetryState } from './retry-policy.js';
import { decodeSense } from './sense/decode.js';

/** Fixed-format sense with key/ASC/ASCQ (SPC-4 §4.5.3). */
const sense = (key: number, asc: number, ascq: number) => decodeSense(Uint8Array.of(0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0));
const fresh: RetryState = { unitAttentionRetriesLeft: 1, now: 0, becomingReadyDeadline: 30_000 };

describe('decideRetry', () => {
  it('UNIT ATTENTION 29/00 (power on/reset): retry while the budget lasts', () => {
    expect(decideRetry(sense(0x6, 0x29, 0x00), fresh)).toEqual({ action: 'retry', reason: 'power-on-reset' });
    expect(decideRetry(sense(0x6, 0x29, 0x02), { ...fresh, unitAttentionRetriesLeft: 0 })).toEqual({
      action: 'fail',
      error: 'check-condition',
      mediumChanged: false,
    });
  });

  it('UNIT ATTENTION 28/00 (medium may have changed): never retried, cached medium facts dropped', () => {
    expect(decideRetry(sense(0x6, 0x28, 0x00), fresh)).toEqual({ action: 'fail', error: 'check-condition', mediumChanged: true });
  });

  it('NOT READY 04/01 (becoming ready): wait until the deadline, then fail', () => {
    expect(decideRetry(sense(0x2, 0x04, 0x01), fresh)).toEqual({ action: 'wait-and-retry', reason: 'becoming-ready' });
    expect(decideRetry(sense(0x2, 0x04, 0x01), { ...fresh, now: 30_000 })).toMatchObject({ action: 'fail', error: 'check-condition' });
  });

  it('NOT READY 3A/00 (medium not present) and other conditions are never retried', () => {
    expect(decideRetry(sense(0x2, 0x3a, 0x00), fresh)).toMatchObject({ action: 'fail', error: 'check-condition' });
    expect(decideRetry(sense(0x3, 0x11, 0x00), fresh)).toMatchObject({ action: 'fail', error: 'check-condition' });
    expect(decideRetry(undefined, fresh)).toMatchObject({ action: 'fail', error: 'check-condition' });
  });

  it('DATA PROTECT 27/xx: write-protected', () => {
    expect(decideRetry(sense(0x7, 0x27, 0x00), fresh)).toEqual({ action: 'fail', error: 'write-protected' });
  });
});
