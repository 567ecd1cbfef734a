/**
 * Fault injection for the simulated device. Each fault is armed with
 * `sim.inject(fault)`, fires on the next matching command (or class request /
 * reset), and stays armed for `times` hits (default 1).
 */

import { InvalidArgumentError } from '../errors.js';
import type { SimCommandRecord } from './types.js';

/** Which BOT stage a hang or disconnect hits. */
export type SimStage = 'cbw' | 'data' | 'csw';

/** Options shared by every fault. */
export interface SimFaultMatch {
  /** How many hits before the fault disarms itself (default 1; `Infinity` for a persistent fault). */
  times?: number;
  /** Only commands with this operation code (CDB byte 0). */
  opcode?: number;
  /** Only commands (or conditions) on this LUN. */
  lun?: number;
}

/**
 * One fault to arm with `sim.inject(fault)`: a `kind` with its own options,
 * plus the {@link SimFaultMatch} filters. Each kind models a misbehaviour a
 * host must survive: the wrong-data-stage cases of BOT 1.0 §6.7, an invalid or
 * not meaningful CSW (§6.3), a hang that needs reset recovery (§5.3.4), or a
 * SCSI-level failure reported with sense data (SPC-4 §4.5).
 *
 * @example
 * sim.inject({ kind: 'stall-csw', opcode: 0x28 }); // next READ(10): the CSW read stalls once
 * sim.inject({ kind: 'medium-error', lba: 100, times: Infinity }); // every read of LBA 100 fails
 */
export type SimFault = SimFaultMatch &
  (
    | {
        /** The device STALLs bulk-IN in the data stage after sending `afterBytes` (default 0). CSW residue counts what was not sent. */
        kind: 'stall-data-in';
        afterBytes?: number;
      }
    | {
        /** The device STALLs bulk-OUT after accepting `afterBytes` (default 0); the command fails (0B/4B/00 DATA PHASE ERROR). */
        kind: 'stall-data-out';
        afterBytes?: number;
      }
    | {
        /** The first `count` (default 1) CSW reads STALL; after CLEAR HALT the CSW is delivered. */
        kind: 'stall-csw';
        count?: number;
      }
    | {
        /** The CSW carries this signature (default "USBs", 0x73425355) instead of "USBS". */
        kind: 'bad-csw-signature';
        signature?: number;
      }
    | {
        /** The CSW carries a tag other than the CBW's (default: CBW tag XOR 0xffffffff). */
        kind: 'wrong-tag';
        tag?: number;
      }
    | {
        /** The CSW reports Phase Error (status 2) after a normal data stage. */
        kind: 'phase-error';
      }
    | {
        /** The device sends `missingBytes` (default half of its data, at least 1) fewer data-in bytes; the residue says so. */
        kind: 'short-data';
        missingBytes?: number;
      }
    | {
        /** Babble: the device sends `extraBytes` (default 1) more than the host asked for; the CSW then reports Phase Error. */
        kind: 'long-data';
        extraBytes?: number;
      }
    | {
        /** The first CSW read returns a zero-length packet; the next returns the CSW. */
        kind: 'zero-length-csw';
      }
    | {
        /** The device skips the data-in stage and sends its CSW where the data was expected. */
        kind: 'skip-data';
      }
    | {
        /** Get Max LUN is answered with a STALL. */
        kind: 'get-max-lun-stall';
      }
    | {
        /** The device stops answering at `stage` (default 'csw') until a Bulk-Only reset or port reset. */
        kind: 'hang';
        stage?: SimStage;
      }
    | {
        /** The device disappears at `stage` (default 'data', or 'csw' for commands without data). */
        kind: 'disconnect';
        stage?: SimStage;
      }
    | {
        /** Media-access commands fail with NOT READY (default 04/01 becoming ready); `times` = number of commands. */
        kind: 'not-ready';
        asc?: number;
        ascq?: number;
      }
    | {
        /**
         * A UNIT ATTENTION (default 29/00 power on/reset) becomes pending on the matching LUN(s):
         * at the next Bulk-Only / port reset (`trigger: 'reset'`, default) or immediately ('now').
         */
        kind: 'unit-attention';
        trigger?: 'reset' | 'now';
        asc?: number;
        ascq?: number;
      }
    | {
        /** The CSW residue is `extraBytes` (default 512) larger than dCBWDataTransferLength. */
        kind: 'residue-too-large';
        extraBytes?: number;
      }
    | {
        /** READ / VERIFY covering `lba` fails with MEDIUM ERROR 03/11/00, INFORMATION = lba; WRITE with 03/0C/00. */
        kind: 'medium-error';
        lba: number;
        /** Also fail writes covering the LBA (default false). */
        writes?: boolean;
      }
    | {
        /** The Bulk-Only Mass Storage Reset request is answered with a STALL (recovery must fall back to port reset). */
        kind: 'reset-stall';
      }
    | {
        /** `portReset()` rejects with TransportError. */
        kind: 'port-reset-fail';
      }
  );

/** The name of a fault kind, e.g. `'stall-csw'`: the `kind` field of {@link SimFault}. */
export type SimFaultKind = SimFault['kind'];

/** What `sim.inject` returns. */
export interface SimFaultHandle {
  readonly fault: SimFault;
  /** How many times the fault has fired. */
  readonly hits: number;
  /** Hits left before it disarms (Infinity for persistent faults). */
  readonly remaining: number;
  /** True once it has fired `times` times or was removed. */
  readonly done: boolean;
  /** Disarms the fault. */
  remove(): void;
}

export class ArmedFault implements SimFaultHandle {
  hits = 0;
  removed = false;
  readonly #times: number;
  readonly #onRemove: (f: ArmedFault) => void;

  constructor(
    readonly fault: SimFault,
    onRemove: (f: ArmedFault) => void,
  ) {
    this.#times = fault.times ?? 1;
    this.#onRemove = onRemove;
  }

  get remaining(): number {
    return this.removed ? 0 : Math.max(0, this.#times - this.hits);
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  matches(opcode: number | undefined, lun: number | undefined): boolean {
    if (this.done) return false;
    if (this.fault.opcode !== undefined && opcode !== undefined && this.fault.opcode !== opcode) return false;
    if (this.fault.opcode !== undefined && opcode === undefined) return false;
    if (this.fault.lun !== undefined && lun !== undefined && this.fault.lun !== lun) return false;
    return true;
  }

  /** Records one hit; disarms when used up. */
  fire(): void {
    this.hits++;
    if (this.done) this.#onRemove(this);
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.#onRemove(this);
  }
}

/** The faults armed on one simulated device: injected, taken when they fire, disarmed when used up. */
export class ArmedFaults {
  readonly #armed: ArmedFault[] = [];

  /** Faults still armed. */
  get list(): readonly SimFaultHandle[] {
    return this.#armed;
  }

  /** Arms `fault` (checked: `times` >= 1). A unit-attention fault with `trigger: 'now'` is applied by the caller and not kept. */
  arm(fault: SimFault): ArmedFault {
    if (fault.times !== undefined && !(fault.times >= 1)) {
      throw new InvalidArgumentError(`fault ${fault.kind}: times must be >= 1 (or Infinity), got ${fault.times}`);
    }
    const armed = new ArmedFault(fault, (f) => {
      const i = this.#armed.indexOf(f);
      if (i >= 0) this.#armed.splice(i, 1);
    });
    if (!(fault.kind === 'unit-attention' && fault.trigger === 'now')) this.#armed.push(armed);
    return armed;
  }

  /** The first armed fault of `kind` that matches (and `pred`), fired once and noted in `record`; undefined if none. */
  take(
    kind: SimFaultKind,
    opcode: number | undefined,
    lun: number | undefined,
    record?: SimCommandRecord,
    pred?: (f: SimFault) => boolean,
  ): SimFault | undefined {
    for (const f of this.#armed) {
      if (f.fault.kind !== kind || !f.matches(opcode, lun)) continue;
      if (pred && !pred(f.fault)) continue;
      const fault = f.fault;
      f.fire();
      record?.faults.push(kind);
      return fault;
    }
    return undefined;
  }

  /** Every armed fault of `kind` still to fire (a snapshot: firing one may disarm it). */
  pending<K extends SimFaultKind>(kind: K): ArmedFault[] {
    return this.#armed.filter((f) => f.fault.kind === kind && !f.done);
  }

  /** Disarms every fault. */
  clear(): void {
    for (const f of [...this.#armed]) f.remove();
  }
}
