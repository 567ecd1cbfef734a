// What a CSW means (BOT 1.0 §6.3: valid and meaningful; the residue of the thirteen cases, §6.7): signature, tag and status checks, the learned signature and ignore-residue heuristic. It finds faults; the engine decides the recovery.
import { InvalidCswError, PhaseError } from '../errors.js';
import { BotFault } from './fault.js';
import { CSW_LENGTH, CSW_SIGNATURE, CswOffset, CswStatus, u32le } from './wire.js';

const OPCODE_INQUIRY = 0x12;
const OPCODE_READ_CAPACITY_10 = 0x25;

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The quirks a CSW check honours (the engine's `BotQuirks`). */
export interface CswQuirks {
  readonly ignoreResidue?: boolean;
  readonly ignoreTag?: boolean;
}

/** The command a CSW answers, as far as checking the CSW needs it. */
export interface CswExchange {
  /** dCBWTag of the command. */
  tag: number;
  cdb: Uint8Array;
  direction: 'none' | 'in' | 'out';
  /** dCBWDataTransferLength (0 for 'none'). */
  requested: number;
  /** Bytes the host saw moved in the data stage. */
  transferred: number;
}

/** What a valid, meaningful CSW says: the status and the residue to report. */
export interface CswVerdict {
  status: 'passed' | 'failed';
  /** The larger of what the host observed and what the device reported, clamped to the request (as Linux usb-storage does). */
  residue: number;
  /** The raw dCSWDataResidue. */
  deviceResidue: number;
}

/**
 * Checks CSWs for one device and remembers what it learned from them: the
 * signature of the first valid CSW and whether the device's residues are bogus.
 * Throws BotFault for a CSW that is not valid or not meaningful, or that reports
 * a phase error (BOT 1.0 §6.3, §5.3.3.1): the engine answers it with reset recovery.
 */
export class CswInterpreter {
  readonly #strictResidue: boolean;
  readonly #learnSignature: boolean;
  /** Signature of the first valid CSW (Linux "learnt BCS signature"). */
  #signature: number | undefined;
  /** Set when the INQUIRY/READ CAPACITY heuristic found bogus residues (as Linux does). */
  #learnedIgnoreResidue = false;

  constructor(strictResidue: boolean, learnSignature: boolean) {
    this.#strictResidue = strictResidue;
    this.#learnSignature = learnSignature;
  }

  /** The CSW signature in use (learned from the first CSW), if one has been seen. */
  get signature(): number | undefined {
    return this.#signature;
  }

  /** True when residues are ignored (quirk, or learned from bogus residues). */
  ignoresResidue(quirks: CswQuirks): boolean {
    return quirks.ignoreResidue === true || this.#learnedIgnoreResidue;
  }

  /** True when `bytes` look like a CSW of this device answering `tag` (used to spot a CSW where data was expected). */
  looksLikeOurCsw(bytes: Uint8Array, tag: number): boolean {
    const signature = u32le(bytes, CswOffset.signature);
    const expected = this.#signature ?? CSW_SIGNATURE;
    return (
      (signature === expected || signature === CSW_SIGNATURE) &&
      u32le(bytes, CswOffset.tag) === tag &&
      (bytes[CswOffset.status] ?? 0xff) <= CswStatus.PhaseError
    );
  }

  /**
   * True when `csw` is a valid CSW answering `tag` that says the command passed with nothing left
   * over (status 0, residue 0 or residues ignored): checked as it is reaped, before the next
   * command's CBW may follow it (BotEngine.pipeline). Stricter than `interpret`, never looser.
   */
  passedInFull(csw: Uint8Array, tag: number, quirks: CswQuirks): boolean {
    if (csw.length !== CSW_LENGTH) return false;
    return (
      u32le(csw, CswOffset.signature) === (this.#signature ?? CSW_SIGNATURE) &&
      u32le(csw, CswOffset.tag) === tag &&
      csw[CswOffset.status] === CswStatus.Passed &&
      (u32le(csw, CswOffset.residue) === 0 || this.ignoresResidue(quirks))
    );
  }

  /** Checks a 13-byte CSW (its size was checked when read) against the command it answers. */
  interpret(csw: Uint8Array, exchange: CswExchange, quirks: CswQuirks): CswVerdict {
    const { tag, requested, transferred } = exchange;
    const signature = u32le(csw, CswOffset.signature);
    const cswTag = u32le(csw, CswOffset.tag);
    const deviceResidue = u32le(csw, CswOffset.residue);
    const status = csw[CswOffset.status] ?? 0xff;

    // Validity (§6.3.1): size (checked when read), tag, signature.
    if (cswTag !== tag && !quirks.ignoreTag) {
      throw new BotFault(
        new InvalidCswError(
          `The CSW tag ${hex32(cswTag)} does not match the CBW tag ${hex32(tag)} (BOT 1.0 §6.3.1); the device was reset. If this device always does this, set the ignoreTag quirk`,
          {
            details: { expectedTag: tag, tag: cswTag },
          },
        ),
      );
    }
    if (status > CswStatus.PhaseError) {
      throw new BotFault(
        new InvalidCswError(`The CSW status ${status} is reserved, so the CSW is not meaningful (BOT 1.0 §6.3.2); the device was reset`, {
          details: { status },
        }),
      );
    }
    if (this.#signature === undefined) {
      // Linux accepts whatever signature the first good CSW carries and then insists on it.
      if (signature !== CSW_SIGNATURE && !this.#learnSignature) {
        throw new BotFault(
          new InvalidCswError(`The CSW signature ${hex32(signature)} is not "USBS" (BOT 1.0 §6.3.1); the device was reset`, { details: { signature } }),
        );
      }
      this.#signature = signature;
    } else if (signature !== this.#signature) {
      throw new BotFault(
        new InvalidCswError(`The CSW signature ${hex32(signature)} is not the expected ${hex32(this.#signature)} (BOT 1.0 §6.3.1); the device was reset`, {
          details: { signature },
        }),
      );
    }

    // Meaningfulness (§6.3.2) and phase error (§5.3.3.1, §6.7: the host shall do reset recovery).
    if (status === CswStatus.PhaseError) {
      throw new BotFault(new PhaseError(undefined, { details: { tag, requested, transferred } }));
    }
    if (deviceResidue > requested && this.#strictResidue && !this.ignoresResidue(quirks)) {
      throw new BotFault(
        new InvalidCswError(
          `The CSW residue ${deviceResidue} exceeds the ${requested} bytes requested, so it is not meaningful (BOT 1.0 §6.3.2, strictResidue); the device was reset`,
          {
            details: { residue: deviceResidue, requested },
          },
        ),
      );
    }

    const observed = requested - transferred;
    let residue = observed;
    if (!this.ignoresResidue(quirks) && deviceResidue !== 0) {
      const opcode = exchange.cdb[0];
      if (
        status === CswStatus.Passed &&
        observed === 0 &&
        exchange.direction === 'in' &&
        ((opcode === OPCODE_INQUIRY && requested === 36) || (opcode === OPCODE_READ_CAPACITY_10 && requested === 8))
      ) {
        // Linux's heuristic: a device that reports a residue for a fully transferred standard
        // INQUIRY or READ CAPACITY(10) makes residues up; ignore them from now on.
        this.#learnedIgnoreResidue = true;
      } else {
        // Clamp to the request (a larger residue is nonsense), then take the larger of both views.
        residue = Math.max(observed, Math.min(deviceResidue, requested));
      }
    }
    return { status: status === CswStatus.Passed ? 'passed' : 'failed', residue, deviceResidue };
  }
}
