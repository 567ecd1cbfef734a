/**
 * Structured trace of everything the stack does on the wire. Tools subscribe
 * with `onTrace`; when nobody listens, emitting costs one boolean check.
 */

import { Listeners } from './listeners.js';
import type { Quirks } from './quirks.js';

/** One event of the trace: a command's start, CBW, data stage, CSW, sense, recovery and end, and the quirk rules matched at open. */
export type TraceEvent =
  | { type: 'command-start'; id: number; lun: number; name: string; cdb: Uint8Array; direction: 'none' | 'in' | 'out'; length: number; time: number }
  | { type: 'cbw'; id: number; tag: number; bytes: Uint8Array; time: number }
  | {
      type: 'data';
      id: number;
      direction: 'in' | 'out';
      requested: number;
      actual: number;
      status: 'ok' | 'stall' | 'babble';
      time: number;
      durationMs: number;
    }
  | { type: 'csw'; id: number; tag: number; status: number; residue: number; bytes: Uint8Array; time: number; durationMs: number }
  | { type: 'sense'; id: number; senseKey: number; asc: number; ascq: number; text: string; time: number }
  | { type: 'recovery'; id: number; step: RecoveryStep; ok: boolean; detail?: string; time: number }
  | {
      type: 'quirks';
      /** 0: not tied to a command. */
      id: 0;
      /** 'descriptor' at open (VID/PID/bcdDevice/subclass), 'inquiry' after LUN 0's INQUIRY (vendor/product/revision too). */
      stage: 'descriptor' | 'inquiry';
      /** The matching rules, one line each (description, criteria, flags, source). */
      rules: string[];
      /** The flags in force from now on, the `quirks` option included. */
      quirks: Quirks;
      time: number;
    }
  | { type: 'command-end'; id: number; outcome: 'good' | 'check-condition' | 'error'; error?: string; residue?: number; time: number; durationMs: number };

/** One recovery action (BOT 1.0 §5.3.4 reset recovery, its escalation to a port reset, a CSW or command retry, or giving up), as reported in `recovery` trace events. */
export type RecoveryStep = 'clear-halt-in' | 'clear-halt-out' | 'bulk-only-reset' | 'port-reset' | 'retry-csw' | 'retry-command' | 'device-failed';

/** Receives every trace event, synchronously, so it should be quick; an exception it throws is swallowed so it never breaks a command. */
export type TraceListener = (event: TraceEvent) => void;

/** A tiny synchronous event hub. `active` lets hot paths skip building events. */
export class Tracer {
  readonly #listeners = new Listeners<[TraceEvent]>();
  active = false;

  /** Adds a listener; returns the function that removes it. */
  on(listener: TraceListener): () => void {
    const remove = this.#listeners.add(listener);
    this.active = true;
    return () => {
      remove();
      this.active = this.#listeners.size > 0;
    };
  }

  /** Delivers an event to every listener; a listener that throws does not stop the others. */
  emit(event: TraceEvent): void {
    this.#listeners.emit(event);
  }
}

/** Monotonic milliseconds, in browsers and Node alike. */
export const now: () => number = typeof globalThis.performance?.now === 'function' ? () => globalThis.performance.now() : () => Date.now();
