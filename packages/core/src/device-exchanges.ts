// What runs inside one queue job of MscDevice: a command's BOT exchange with its trace events, the
// automatic REQUEST SENSE after CHECK CONDITION (BOT 1.0 §5.2, SPC-4 §4.5), and pipelines of block
// commands (BotEngine.pipeline). The queue, time limits and retry policy stay in device.ts.
import type { BotCommandRequest, BotCommandResult, BotEngine } from './bot/engine.js';
import type { ExecuteResult } from './device-options.js';
import { ParseError } from './errors.js';
import { SENSE_LENGTH } from './logical-unit.js';
import { isAtaPassThrough } from './sat/pass-through.js';
import { padCdb } from './scsi/bytes.js';
import type { ScsiCommand } from './scsi/command.js';
import * as scsi from './scsi/index.js';
import { decodeSense, formatSense } from './sense/index.js';
import type { SenseData } from './sense/types.js';
import { now, type Tracer } from './trace.js';

/**
 * After ATA PASS-THROUGH: room for descriptor-format sense with the 14-byte ATA Status Return descriptor
 * (SAT-4 §12.2.2.6; 8 + 14 = 22 bytes), which 18 bytes would cut before the STATUS register.
 */
const ATA_SENSE_LENGTH = 32;

/**
 * Commands per pipeline job (`MscDevice.runRawMany`): enough that the wait between two jobs is rare
 * (16 x 120 KiB = 1.9 MiB), few enough that another caller waits at most one such job.
 */
export const PIPELINE_COMMANDS = 16;

/** One command of `MscDevice.runRawMany`, with the buffer its data-in lands in. */
export interface PipelinedCommand {
  command: ScsiCommand<unknown>;
  into?: Uint8Array | undefined;
  /**
   * `into` is a buffer of usbms's own that the caller never sees if the command fails: a caller who
   * gives up need not wait for the transfers filling it (MscTransport.writesIntoDirectly).
   */
  scratch?: boolean;
}

/** One pipeline job's results: the GOOD ones, then the first other result (with its sense), or an error. */
export interface PipelineStep {
  results: ExecuteResult[];
  result?: ExecuteResult;
  error?: unknown;
}

/** The command fields one exchange needs (a built command or a checked raw request). */
interface ExchangeCommand {
  name: string;
  direction: 'none' | 'in' | 'out';
  length: number;
  data?: Uint8Array | undefined;
}

/** The BOT request of one command (BOT 1.0 §5.1: LUN, CDB, direction and length of the data stage). */
function botRequest(
  lun: number,
  command: ExchangeCommand,
  cdb: Uint8Array,
  into: Uint8Array | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  traceId: number,
  onTransfersEnded: (() => void) | undefined,
): BotCommandRequest {
  // Every field, set or not: one object shape for every command (spreading optional fields made one per combination).
  return { lun, cdb, direction: command.direction, length: command.length, data: command.data, into, timeoutMs, signal, traceId, onTransfersEnded };
}

/** A passed command's result as the caller sees it (status GOOD). */
function goodResult(r: BotCommandResult): ExecuteResult {
  const result: ExecuteResult = { status: 'good', statusCode: 0x00, data: r.data, residue: r.residue };
  if (r.babble) result.babble = true;
  return result;
}

export class Exchanges {
  readonly #engine: BotEngine;
  readonly #tracer: Tracer;
  /** Quirk padCdbTo12 (UFI/SFF-8070i/ATAPI subclasses): command blocks are always 12 bytes. */
  readonly #padTo12: () => boolean;
  #traceId = 0;

  constructor(engine: BotEngine, tracer: Tracer, padTo12: () => boolean) {
    this.#engine = engine;
    this.#tracer = tracer;
    this.#padTo12 = padTo12;
  }

  /** The CDB as sent: padded to 12 bytes where the quirk says so. */
  cdbOf(cdb: Uint8Array): Uint8Array {
    return this.#padTo12() ? padCdb(cdb, 12) : cdb;
  }

  /** One command: CBW, data, CSW, and the automatic REQUEST SENSE after CHECK CONDITION, traced. */
  async one(
    lun: number,
    command: ExchangeCommand,
    cdb: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
    into: Uint8Array | undefined,
    onTransfersEnded?: () => void,
  ): Promise<ExecuteResult> {
    const id = ++this.#traceId;
    const tracing = this.#tracer.active;
    const started = tracing ? now() : 0;
    if (tracing) {
      this.#tracer.emit({ type: 'command-start', id, lun, name: command.name, cdb, direction: command.direction, length: command.length, time: started });
    }
    try {
      const r = await this.#engine.command(botRequest(lun, command, cdb, into, timeoutMs, signal, id, onTransfersEnded));
      // Passed: no REQUEST SENSE, so no await (each is a turn of the microtask queue).
      const result = r.status === 'passed' ? goodResult(r) : await this.#result(r, lun, cdb, timeoutMs, signal, id);
      if (tracing) {
        this.#tracer.emit({
          type: 'command-end',
          id,
          outcome: result.status === 'good' ? 'good' : 'check-condition',
          residue: result.residue,
          time: now(),
          durationMs: now() - started,
        });
      }
      return result;
    } catch (error) {
      if (tracing) {
        this.#tracer.emit({ type: 'command-end', id, outcome: 'error', error: String(error), time: now(), durationMs: now() - started });
      }
      throw error; // a failure or disconnect was already told to the lifecycle by the engine (onFailure)
    }
  }

  /**
   * Block commands of one LUN back to back (`BotEngine.pipeline`, untraced): the results of those
   * that passed in full, then the first that did not (with its sense), or its error.
   */
  async many(lun: number, commands: readonly PipelinedCommand[], timeoutMs: number, signal: AbortSignal, onTransfersEnded?: () => void): Promise<PipelineStep> {
    const base = this.#traceId;
    this.#traceId += commands.length;
    const outcome = await this.#engine.pipeline(
      commands.map(({ command, into }, i) => botRequest(lun, command, this.cdbOf(command.cdb), into, timeoutMs, signal, base + i + 1, onTransfersEnded)),
    );
    const results = outcome.results.map((r): ExecuteResult => ({ status: 'good', statusCode: 0x00, data: r.data, residue: r.residue }));
    if (outcome.error !== undefined) return { results, error: outcome.error };
    if (outcome.result === undefined) return { results };
    const at = commands[results.length] as PipelinedCommand;
    return { results, result: await this.#result(outcome.result, lun, this.cdbOf(at.command.cdb), timeoutMs, signal, base + results.length + 1) };
  }

  /** What the caller sees of a BOT result: GOOD, or CHECK CONDITION with the sense fetched in the same job. */
  async #result(r: BotCommandResult, lun: number, cdb: Uint8Array, timeoutMs: number, signal: AbortSignal, id: number): Promise<ExecuteResult> {
    if (r.status === 'passed') return goodResult(r);
    // BOT 1.0 §5.2: CSW status 1 (command failed). The device holds sense
    // data until the next command on this LUN, so fetch it in the same job.
    const sense = await this.#requestSense(lun, timeoutMs, signal, id, isAtaPassThrough(cdb) ? ATA_SENSE_LENGTH : SENSE_LENGTH);
    return { status: 'check-condition', statusCode: 0x02, data: r.data, residue: r.residue, ...(sense ? { sense } : {}) };
  }

  async #requestSense(lun: number, timeoutMs: number, signal: AbortSignal, id: number, length: number): Promise<SenseData | undefined> {
    const command = scsi.requestSense({ allocationLength: length });
    const r = await this.#engine.command({ lun, cdb: this.cdbOf(command.cdb), direction: 'in', length: command.length, timeoutMs, signal, traceId: id });
    if (r.status !== 'passed' || r.data.length === 0) return undefined;
    let sense: SenseData;
    try {
      sense = decodeSense(r.data);
    } catch (error) {
      if (error instanceof ParseError) return undefined;
      throw error;
    }
    if (this.#tracer.active) {
      this.#tracer.emit({ type: 'sense', id, senseKey: sense.senseKey, asc: sense.asc, ascq: sense.ascq, text: formatSense(sense), time: now() });
    }
    return sense;
  }
}
