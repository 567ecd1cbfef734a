// Block commands back to back (BotEngine.pipeline): each next command's stages handed to the transport
// at once, its CBW chained behind the status read of the one before and sent only if that CSW says it
// passed in full (BOT 1.0 §5: still one command at a time; §5.3, §6.3: what "passed" means).
import { AbortError } from '../errors.js';
import { SpareController } from './abort.js';
import { settled } from './transfers.js';
import type { BotCommandRequest, BotCommandResult, BotPipelineOutcome } from './types.js';
import { CBW_LENGTH, CSW_LENGTH } from './wire.js';

/** Most commands one pipeline chains. */
export const MAX_PIPELINE = 64;

/**
 * Each lane's CBW and CSW buffers, made once per engine and reused by its pipelines (one at a
 * time: `BotEngine.pipeline` refuses a second while one runs, and a pipeline returns only once
 * every transfer into them has settled). A pipeline used to allocate two off-heap buffers and a
 * DataView per command, each a runtime call.
 */
export class LaneBuffers {
  readonly #cbws = new Uint8Array(CBW_LENGTH * MAX_PIPELINE);
  readonly #csws = new Uint8Array(CSW_LENGTH * MAX_PIPELINE);
  readonly #lanes: Pick<Lane, 'cbw' | 'cbwView' | 'csw'>[] = [];
  /** The last pipeline's cancel, if it never fired. */
  readonly spareCancel = new SpareController();

  /** Lane `i`'s buffers (0 <= i < MAX_PIPELINE), made on first use. */
  at(i: number): Pick<Lane, 'cbw' | 'cbwView' | 'csw'> {
    let lane = this.#lanes[i];
    if (lane === undefined) {
      lane = {
        cbw: this.#cbws.subarray(i * CBW_LENGTH, (i + 1) * CBW_LENGTH),
        cbwView: new DataView(this.#cbws.buffer, i * CBW_LENGTH, CBW_LENGTH),
        csw: this.#csws.subarray(i * CSW_LENGTH, (i + 1) * CSW_LENGTH),
      };
      this.#lanes[i] = lane;
    }
    return lane;
  }
}

/** A command pipelined behind the one before it: its own CBW and CSW buffers, the pipeline's cancel. */
export interface Lane {
  index: number;
  cbw: Uint8Array;
  cbwView: DataView;
  csw: Uint8Array;
  cancel: AbortController;
  /** Whether the CSW of the command before passed in full (checked as it is reaped). */
  gate: (csw: Uint8Array) => boolean;
}

/** What a pipelined command that was never submitted throws (the one before did not pass in full, or an abort came first). */
export const NOT_RUN: unique symbol = Symbol('not run');

/** A transfer the transport never submitted (`TransferOptions.chained`): nothing of it reached the device. */
export const isNotSubmitted = (error: unknown): boolean =>
  error instanceof AbortError && (error.details as { notSubmitted?: unknown } | undefined)?.notSubmitted === true;

/** A result the pipeline may go on from: passed, every byte transferred, nothing odd. */
const passedInFull = (r: BotCommandResult, req: BotCommandRequest): boolean =>
  r.status === 'passed' && r.residue === 0 && r.babble !== true && r.dataPhaseSkipped !== true && (req.direction !== 'in' || r.data.length === req.length);

type Exchange = (req: BotCommandRequest, lane?: Lane) => Promise<BotCommandResult>;

/** One command after the other, each after the one before ended (transports that do not queue, or while tracing). */
export async function runInOrder(reqs: readonly BotCommandRequest[], exchange: Exchange): Promise<BotPipelineOutcome> {
  const results: BotCommandResult[] = [];
  for (const req of reqs) {
    let r: BotCommandResult;
    try {
      r = await exchange(req);
    } catch (error) {
      return { results, error };
    }
    if (!passedInFull(r, req)) return { results, result: r };
    results.push(r);
  }
  return { results };
}

/**
 * Every command's stages handed over in order (`exchange` registers them before its first
 * await): the first command's as it starts, the others while it is on the wire; then their results
 * in order. `gateAfter(tag)` checks the CSW answering `tag`; `lastTag()` is the tag the command just
 * registered got.
 */
export async function runPipelined(
  reqs: readonly BotCommandRequest[],
  exchange: Exchange,
  lastTag: () => number,
  gateAfter: (tag: number) => (csw: Uint8Array) => boolean,
  buffers: LaneBuffers,
): Promise<BotPipelineOutcome> {
  const n = reqs.length;
  const results: BotCommandResult[] = [];
  // The later commands' transfers share one signal: a failed command cancels what is queued behind
  // it, and the caller's signal is forwarded to it.
  const cancel = buffers.spareCancel.take();
  const signal = reqs[0]?.signal;
  const forward = (): void => cancel.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  const runs: Promise<BotCommandResult>[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const req = reqs[i] as BotCommandRequest;
      let run: Promise<BotCommandResult>;
      if (i === 0) run = exchange(req);
      else {
        const { cbw, cbwView, csw } = buffers.at(i);
        run = exchange(req, { index: i, cbw, cbwView, csw, cancel, gate: gateAfter(lastTag()) });
      }
      run.catch(() => undefined);
      runs.push(run);
      // The first command's CBW goes out (the transport submits its batch in a microtask queued as
      // it was registered) before the others are registered: the device starts on it while this
      // thread prepares the rest, instead of waiting for all of them.
      if (i === 0) await Promise.resolve();
    }
    for (let i = 0; i < n; i++) {
      let r: BotCommandResult;
      try {
        r = await (runs[i] as Promise<BotCommandResult>);
      } catch (error) {
        // Nothing after it was submitted: the chain breaks at the first transfer that did not end in full.
        for (let j = i + 1; j < n; j++) await settled(runs[j] as Promise<BotCommandResult>);
        return error === NOT_RUN ? { results } : { results, error };
      }
      if (!passedInFull(r, reqs[i] as BotCommandRequest)) {
        // Its CSW did not pass the gate either, so nothing after it was sent.
        for (let j = i + 1; j < n; j++) await settled(runs[j] as Promise<BotCommandResult>);
        return { results, result: r };
      }
      results.push(r);
    }
    return { results };
  } finally {
    signal?.removeEventListener('abort', forward);
    // Every transfer has settled (and dropped its listener): unless it fired, the next pipeline may take it.
    buffers.spareCancel.giveBack(cancel);
  }
}
