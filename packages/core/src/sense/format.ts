import type { UsbmsErrorOptions } from '../errors.js';
import { ScsiCheckConditionError } from '../errors.js';
import type { SenseData } from './types.js';

function hex2(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * Sense keys whose INFORMATION field is the LBA of the failing block for
 * direct-access devices (SBC-3, sense data for block commands): recovered, medium and hardware errors,
 * blank check and miscompare.
 */
const INFORMATION_IS_LBA = new Set([0x1, 0x3, 0x4, 0x8, 0xe]);

/**
 * One-line text of sense data, e.g.
 * `MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 12345`.
 */
export function formatSense(sense: SenseData): string {
  let text = `${sense.current ? '' : 'deferred error: '}${sense.senseKeyName}: ${sense.description} (${hex2(sense.senseKey)}/${hex2(sense.asc)}/${hex2(sense.ascq)})`;
  if (sense.information !== undefined) {
    text += INFORMATION_IS_LBA.has(sense.senseKey) ? ` at LBA ${sense.information}` : ` (information ${sense.information})`;
  }
  const sks = sense.senseKeySpecific;
  if (sks !== undefined) {
    switch (sks.kind) {
      case 'field-pointer':
        text += `; invalid ${sks.inCdb ? 'CDB' : 'parameter data'} byte ${sks.fieldPointer}${sks.bitPointer === undefined ? '' : ` bit ${sks.bitPointer}`}`;
        break;
      case 'progress':
        text += `; progress ${((sks.progress * 100) / 65536).toFixed(1)}%`;
        break;
      case 'actual-retry-count':
        text += `; ${sks.count} retries`;
        break;
      case 'segment-pointer':
        text += `; segment ${sks.segmentDescriptor ? 'descriptor' : 'parameter list'} byte ${sks.fieldPointer}`;
        break;
      case 'unit-attention-queue-overflow':
        if (sks.overflow) text += '; unit attention queue overflowed';
        break;
      case 'raw':
        break;
    }
  }
  if (sense.filemark) text += '; filemark';
  if (sense.endOfMedium) text += '; end of medium';
  if (sense.incorrectLength) text += '; incorrect length';
  return text;
}

/** What the user can do about common conditions; undefined when there is nothing useful to add. */
export function senseHint(sense: SenseData): string | undefined {
  const { senseKey, asc, ascq } = sense;
  if (asc === 0x3a) return 'Insert a medium (card, disc) and try again.';
  if (asc === 0x04 && ascq === 0x01) return 'The device is becoming ready (spinning up); retry in a moment.';
  if (asc === 0x04) return 'The device is not ready; wait, check it is powered and has a medium, or start it with START STOP UNIT.';
  if (asc === 0x27 || senseKey === 0x7) return 'The medium is write-protected: check the lock switch on the card or device.';
  if (asc === 0x28) return 'The medium may have been changed: re-read the capacity before continuing.';
  if (asc === 0x29) return 'The device was reset or powered on; the command can be retried.';
  if (asc === 0x20 && ascq === 0x00) return 'The device does not support this command.';
  if (asc === 0x24 && ascq === 0x00) return 'The device rejected a field of this command (e.g. an unsupported page or option).';
  if (asc === 0x21 && ascq === 0x00) return 'The block address is beyond the end of the medium: check the capacity.';
  if (asc === 0x25 && ascq === 0x00) return 'This logical unit does not exist on the device.';
  if (senseKey === 0x3) return 'The medium could not be read or written at this place; back up the data, the medium may be failing.';
  if (senseKey === 0x4) return 'The device reported a hardware failure.';
  return undefined;
}

/**
 * Message of a ScsiCheckConditionError: what failed, the decoded sense and a hint,
 * e.g. `READ(10) failed: MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 12345. The medium ...`.
 */
export function checkConditionMessage(commandName: string, sense: SenseData | undefined): string {
  if (sense === undefined) {
    return `${commandName} failed with CHECK CONDITION and the device returned no usable sense data`;
  }
  const hint = senseHint(sense);
  return `${commandName} failed: ${formatSense(sense)}${hint === undefined ? '' : `. ${hint}`}`;
}

/** Builds the typed error for a CHECK CONDITION, message from `checkConditionMessage`. */
export function checkConditionError(commandName: string, sense: SenseData | undefined, options?: UsbmsErrorOptions): ScsiCheckConditionError {
  return new ScsiCheckConditionError(checkConditionMessage(commandName, sense), sense, options);
}
