// The types of one BOT command and of the engine's options (BOT 1.0 §5, §6): the engine is engine.ts.

import type { DeviceFailedError, DisconnectedError } from '../errors.js';
import type { Tracer } from '../trace.js';

/**
 * Outcome of `BotEngine.pipeline`: how many commands, from the first, passed in full
 * (`results`), and what became of the next one, if anything did.
 */
export interface BotPipelineOutcome {
  /** The results of the commands that passed with every byte transferred, in order. */
  results: BotCommandResult[];
  /** The command after them ended otherwise (failed, residue, babble): its result, for the caller to act on (sense, retry). */
  result?: BotCommandResult;
  /** The command after them failed as `command()` throws (after reset recovery); `results` still count as done. */
  error?: unknown;
}

/** One BOT command: CBW -> optional data stage -> CSW. */
export interface BotCommandRequest {
  /** Logical unit, 0-15 (BOT 1.0 §5.1 bCBWLUN). */
  lun: number;
  /** The CDB, 1-16 bytes. */
  cdb: Uint8Array;
  /** Data stage direction from the host's point of view. */
  direction: 'none' | 'in' | 'out';
  /** dCBWDataTransferLength: bytes expected in ('in') or sent ('out'); 0 for 'none'. */
  length: number;
  /** Data-out bytes; `data.length` must equal `length`. */
  data?: Uint8Array | undefined;
  /** Optional buffer (at least `length` bytes) that receives the data-in bytes. */
  into?: Uint8Array | undefined;
  /**
   * Time limit for the whole exchange (CBW, data and CSW), in ms; `Infinity`
   * for none. Each transfer gets what is left of it, at most 2^31-1 ms
   * (`MAX_TIMER_MS`, about 24.8 days, the most a platform timer holds).
   */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Id used in trace events (the device layer's command id); defaults to the CBW tag. */
  traceId?: number | undefined;
  /**
   * Called when the exchange failed (abort, timeout, transport error) once none of its transfers is
   * pending any more, before reset recovery: from then on nothing writes into `into`. The command
   * queue then tells a caller who gave up (QueueJobContext.release).
   */
  onTransfersEnded?: (() => void) | undefined;
}

/** Outcome of one CBW / data / CSW exchange that ended with a valid CSW. */
export interface BotCommandResult {
  /** bCSWStatus 0 -> 'passed', 1 -> 'failed' (the caller then asks REQUEST SENSE). */
  status: 'passed' | 'failed';
  /**
   * Bytes of `length` not transferred: the larger of what the host observed and
   * what the device reported, clamped to `length` (as Linux usb-storage does).
   */
  residue: number;
  /** Data-in bytes that are valid: `length - residue` bytes. Empty for 'none'/'out'. */
  data: Uint8Array;
  /** The raw dCSWDataResidue, present only when it differs from `residue` (clamped, ignored or overridden). */
  deviceResidue?: number;
  /** True when the device sent more data than requested (babble); `data` holds what fit. Treat the data with suspicion. */
  babble?: boolean;
  /** True when the device skipped the data stage and sent its CSW in its place. */
  dataPhaseSkipped?: boolean;
}

/** The subset of quirks the transport layer itself acts on (see quirks.ts for the full set). */
export interface BotQuirks {
  /** Ignore dCSWDataResidue entirely; only what was actually transferred counts. */
  ignoreResidue?: boolean;
  /** Do not check that dCSWTag matches dCBWTag. */
  ignoreTag?: boolean;
  /** Do not send Get Max LUN; the device has one LUN. */
  singleLun?: boolean;
}

/** Options of `new BotEngine(transport, options)`. */
export interface BotEngineOptions {
  quirks?: BotQuirks;
  /** BOT 1.0 §6.3.2 to the letter: a residue larger than the request is not meaningful -> reset recovery. */
  strictResidue?: boolean;
  tracer?: Tracer;
  /** Time limit for each reset-recovery request (class reset, clear halt, port reset). Default 5000 ms. */
  recoveryTimeoutMs?: number;
  /**
   * Learn a non-standard CSW signature from the first valid CSW, as Linux does
   * for devices that answer with e.g. "USBU". Default true.
   */
  learnCswSignature?: boolean;
  /**
   * For commands without a data-in stage, submit the status read right after
   * the CBW when the transport has `concurrentPipes` (default true): the CSW is
   * then read as soon as the device sends it, without a host round trip after
   * the CBW or the data-out. A device that STALLs an IN token arriving before
   * its CSW is ready (QEMU's usb-storage does) is recovered as a status-stage
   * stall (clear halt, read again: BOT 1.0 §6.7.2) and the engine stops doing
   * it for that device.
   */
  earlyStatus?: boolean;
  /** Told when reset recovery failed (DeviceFailedError, BOT 1.0 §5.3.4) or the device is gone (DisconnectedError), as thrown; the engine keeps no failure state (device-state.ts decides). */
  onFailure?: (error: DeviceFailedError | DisconnectedError) => void;
}

/** Time limit and cancellation of a class request (Get Max LUN) or of reset recovery. */
export interface BotControlOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}
