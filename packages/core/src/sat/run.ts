/**
 * Sending typed ATA commands through a device: builds the ATA PASS-THROUGH CDB,
 * runs it on the raw path, and reads the answer from data and sense (SAT-4
 * §12.2.2.5): CHECK CONDITION with RECOVERED ERROR 00/1D is success with
 * registers (CK_COND); any other CHECK CONDITION is an error, an ATA one when
 * the sense carries ATA registers.
 */
import type { ExecuteRequest, ExecuteResult } from '../device.js';
import { ScsiCheckConditionError } from '../errors.js';
import type { CommandOptions } from '../scsi/command.js';
import { formatSense } from '../sense/format.js';
import { type SenseData, SenseKey } from '../sense/types.js';
import type { AtaCommand, AtaResult } from './commands.js';
import { ataPassThrough } from './pass-through.js';
import { ATA_PASS_THROUGH_INFORMATION_AVAILABLE, type AtaRegisters, ataRegistersFromSense, formatAtaRegisters } from './registers.js';

/** Anything with the raw `execute` of `MscDevice` / `LogicalUnit`. */
export interface AtaTarget {
  /** Sends one SCSI command (here an ATA PASS-THROUGH CDB) and returns its raw result. */
  execute(request: ExecuteRequest): Promise<ExecuteResult>;
}

export interface RunAtaOptions extends CommandOptions {
  lun?: number;
  /** 16 (default) or 12: ATA PASS-THROUGH(12) for bridges that only know A1h; 48-bit commands need 16. */
  cdbSize?: 12 | 16;
  /** Peripheral device type of the LUN (INQUIRY), when known: 05h (MMC) refuses the 12-byte CDB. */
  peripheralDeviceType?: number;
}

/** The ATA command failed: the device set ERR or DF in STATUS. `registers` has ERROR, STATUS, LBA, COUNT. */
export class AtaCommandError extends ScsiCheckConditionError {
  readonly registers: AtaRegisters;
  constructor(command: string, registers: AtaRegisters, sense: SenseData) {
    super(`${command} failed: ATA ${formatAtaRegisters(registers)} (${formatSense(sense)})`, sense, { details: { registers } });
    this.registers = registers;
  }
}

/** Sends an ATA command and returns the raw `AtaResult` (data, registers, sense), without decoding. */
export async function executeAta(target: AtaTarget, command: AtaCommand<unknown>, options: RunAtaOptions = {}): Promise<AtaResult> {
  const built = ataPassThrough({
    ...command.passThrough,
    cdbSize: options.cdbSize ?? 16,
    ...(options.peripheralDeviceType !== undefined ? { peripheralDeviceType: options.peripheralDeviceType } : {}),
  });
  const request: ExecuteRequest = { cdb: built.cdb, direction: built.direction, name: command.name };
  if (built.direction === 'in') request.length = built.length;
  if (built.direction === 'out') {
    if (command.data === undefined || command.data.length !== built.length) {
      throw new ScsiCheckConditionError(
        `${command.name}: data-out of ${command.data?.length ?? 0} bytes does not match the ${built.length}-byte transfer`,
        undefined,
      );
    }
    request.data = command.data;
  }
  if (options.lun !== undefined) request.lun = options.lun;
  if (options.signal !== undefined) request.signal = options.signal;
  const timeoutMs = options.timeoutMs ?? command.timeoutMs;
  if (timeoutMs !== undefined) request.timeoutMs = timeoutMs;
  const result = await target.execute(request);
  if (result.status === 'good') return { data: result.data };
  const sense = result.sense;
  if (sense === undefined) throw new ScsiCheckConditionError(`${command.name} failed: CHECK CONDITION without sense data`, undefined);
  const registers = ataRegistersFromSense(sense);
  const informationAvailable =
    sense.senseKey === SenseKey.RecoveredError &&
    sense.asc === ATA_PASS_THROUGH_INFORMATION_AVAILABLE.asc &&
    sense.ascq === ATA_PASS_THROUGH_INFORMATION_AVAILABLE.ascq;
  if (informationAvailable && registers !== undefined && (registers.status & 0x21) === 0) {
    return { data: result.data, registers, sense };
  }
  if (registers !== undefined && (registers.status & 0x21) !== 0) throw new AtaCommandError(command.name, registers, sense);
  throw new ScsiCheckConditionError(`${command.name} failed: ${formatSense(sense)}`, sense);
}

/** Sends an ATA command through ATA PASS-THROUGH and returns its decoded answer. */
export async function runAta<T>(target: AtaTarget, command: AtaCommand<T>, options: RunAtaOptions = {}): Promise<T> {
  return command.decode(await executeAta(target, command, options));
}
