// One URB of a usbfs file descriptor (linux/usbdevice_fs.h struct usbdevfs_urb): what is asked for
// (UrbRequest, chained or not), what is in flight (Urb), and how it ended (UrbResult). The queue that
// submits and reaps them is urbs.ts.
import type { TransferOptions } from '@usbms/core';
import type { UrbCompletion } from './abi.js';

/** A submitted URB, from SUBMITURB until it is reaped. */
export interface Urb {
  readonly slot: number;
  readonly address: bigint;
  readonly endpoint: number;
  /** Submission order: later URBs on one endpoint run after earlier ones. */
  readonly sequence: number;
  /** Where the data goes (IN) or comes from (OUT); the kernel holds its address. */
  readonly buffer: Uint8Array;
  /** Settles once it is reaped (made on first use: most URBs are only ever settled through their request). */
  readonly done: Promise<UrbCompletion>;
  settle(completion: UrbCompletion): void;
  /** Why it was discarded, if it was. */
  cancelled?: 'abort' | 'timeout' | 'internal';
  /** When it times out (performance.now()), its time limit, and the signal that aborts it: see UrbQueue.arm. */
  deadline: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** Stops the timer and abort listener armed once the reaper thread waits (see UrbQueue.arm). */
  cleanup?: (() => void) | undefined;
  /** The request it was submitted for (its chained follower, if any). */
  readonly request: UrbRequest;
}

/**
 * One URB to submit in the next batch, or once the request before it ended in full (`chained`).
 * A class with every field set from the start: object literals of three shapes, with fields added
 * as a request went along, made the reaping turn's property accesses megamorphic.
 */
export class UrbRequest {
  /** How it ended: in full (a chained follower may go), or not (it never will). */
  ended: 'full' | 'short' | undefined = undefined;
  /** Chained behind a request that has not ended yet. */
  waiting = false;
  /** Submitted to the kernel (a request that ends 'short' without it was never sent). */
  submitted = false;
  /** The request to submit together with this one (TransferOptions.together), once this one waits on a chain. */
  companion: UrbRequest | undefined = undefined;
  /** The chained request waiting for this one to end. */
  follower: UrbRequest | undefined = undefined;
  /** Bytes it moved, once it ended in full (for a `chainedIf` enqueued after that). */
  actual = 0;

  constructor(
    readonly type: number,
    readonly endpoint: number,
    readonly buffer: Uint8Array,
    readonly hold: boolean,
    readonly options: TransferOptions | undefined,
    readonly resolve: (urb: Urb) => void,
    readonly reject: (error: unknown) => void,
    /** Submit only once the request enqueued just before this one ended in full (TransferOptions.chained). */
    readonly chained: boolean,
    /** For {@link UrbQueue.transfer}: settled with the URB's result, as `deliver` makes it, the moment it is reaped. */
    readonly result: UrbDelivery<unknown> | undefined,
  ) {}
}

/** Where a {@link UrbQueue.transfer}'s result goes: `deliver` turns it into what the caller's promise resolves with. */
export interface UrbDelivery<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  deliver: (result: UrbResult, buffer: Uint8Array) => T;
}

/** How a reaped URB ended, under the transport contract: stall and babble are results, the rest errors. */
export type UrbResult = { kind: 'ok' | 'stall' | 'babble'; actual: number };

/** A chained request's own condition (`TransferOptions.chainedIf`) on what the transfer before it received. */
export function chainAllows(request: UrbRequest, previous: Uint8Array, actual: number): boolean {
  const condition = request.options?.chainedIf;
  if (condition === undefined) return true;
  try {
    const n = Math.max(0, Math.min(actual, previous.length));
    return condition(n === previous.length ? previous : previous.subarray(0, n));
  } catch {
    return false;
  }
}

/** A submitted URB; its `done` promise is made only if someone waits on it (discard, a status read taken later). */
export class SubmittedUrb implements Urb {
  cancelled?: 'abort' | 'timeout' | 'internal';
  deadline = Number.POSITIVE_INFINITY;
  timeoutMs = 0;
  signal: AbortSignal | undefined;
  cleanup?: (() => void) | undefined;
  #completion: UrbCompletion | undefined;
  #done: Promise<UrbCompletion> | undefined;
  #resolve: ((completion: UrbCompletion) => void) | undefined;

  constructor(
    readonly slot: number,
    readonly address: bigint,
    readonly endpoint: number,
    readonly sequence: number,
    readonly buffer: Uint8Array,
    readonly request: UrbRequest,
  ) {}

  get done(): Promise<UrbCompletion> {
    if (this.#done === undefined) {
      const completion = this.#completion;
      this.#done =
        completion !== undefined
          ? Promise.resolve(completion)
          : new Promise<UrbCompletion>((resolve) => {
              this.#resolve = resolve;
            });
    }
    return this.#done;
  }

  settle(completion: UrbCompletion): void {
    if (this.#completion !== undefined) return;
    this.#completion = completion;
    this.#resolve?.(completion);
  }
}
