/**
 * Sending an NVMe admin command through a USB-to-NVMe bridge: the bridge's CDBs
 * (nvme-bridges.ts) on the raw `execute` path, CHECK CONDITION turned into a
 * typed error, and, for JMicron, the completion status read back.
 */
import type { ExecuteRequest, ExecuteResult, RunOptions } from '../device.js';
import { NvmeStatusError, ReadOnlyError, ScsiCheckConditionError } from '../errors.js';
import type { CommandOptions, ScsiCommand } from '../scsi/command.js';
import { formatSense } from '../sense/format.js';
import { type NvmeAdminCommand, nvmeReadOnlyRefusal } from './nvme.js';
import {
  asmediaNvmeCdb,
  type BridgeCdb,
  decodeJmicronNvmeResponse,
  describeNvmeStatus,
  jmicronNvmeCdbs,
  type NvmeBridgeKind,
  realtekNvmeCdb,
} from './nvme-bridges.js';

/** Anything with the raw `execute` of `MscDevice` (and its `readOnly`), or a `LogicalUnit` (through `device`). */
export interface BridgeTarget {
  /** The raw path: one CDB, its data stage, and the status (see `MscDevice.execute`). */
  execute(request: ExecuteRequest): Promise<ExecuteResult>;
  /** The typed path (`MscDevice.run`), used for CDBs the bridge layer vouches for on a read-only device. */
  run?<T>(command: ScsiCommand<T>, options?: RunOptions): Promise<T>;
  readonly readOnly?: boolean;
  readonly device?: { readonly readOnly: boolean };
}

export interface BridgeRunOptions extends CommandOptions {
  lun?: number;
}

/** True when the target (a device, or a LUN's device) was opened read-only. */
export function targetIsReadOnly(target: BridgeTarget): boolean {
  return target.readOnly === true || target.device?.readOnly === true;
}

/**
 * Runs one CDB of a bridge exchange; CHECK CONDITION throws ScsiCheckConditionError. `vouched`: the bridge
 * layer has checked the carried ATA/NVMe command against its read-only allowlist, so a device opened
 * read-only may send this CDB even with a data-out stage (the JMicron NVMe command block).
 */
export async function runBridgeCdb(target: BridgeTarget, step: BridgeCdb, options: BridgeRunOptions, vouched = false): Promise<Uint8Array> {
  if (vouched && target.run !== undefined) {
    const command: ScsiCommand<Uint8Array> = {
      name: step.name,
      cdb: step.cdb,
      direction: step.direction,
      length: step.length,
      writesMedium: false,
      decode: (d) => d,
    };
    const withData = step.data === undefined ? command : { ...command, data: step.data };
    const runOptions: RunOptions = {};
    if (options.lun !== undefined) runOptions.lun = options.lun;
    if (options.signal !== undefined) runOptions.signal = options.signal;
    if (options.timeoutMs !== undefined) runOptions.timeoutMs = options.timeoutMs;
    return target.run(withData, runOptions);
  }
  const request: ExecuteRequest = { cdb: step.cdb, direction: step.direction, name: step.name };
  if (step.direction === 'in') request.length = step.length;
  if (step.direction === 'out' && step.data !== undefined) request.data = step.data;
  if (options.lun !== undefined) request.lun = options.lun;
  if (options.signal !== undefined) request.signal = options.signal;
  if (options.timeoutMs !== undefined) request.timeoutMs = options.timeoutMs;
  const result = await target.execute(request);
  if (result.status !== 'good') {
    const sense = result.sense;
    throw new ScsiCheckConditionError(`${step.name} failed: ${sense ? formatSense(sense) : 'CHECK CONDITION without sense data'}`, sense);
  }
  return result.data;
}

/**
 * Sends an NVMe admin command through the named bridge and decodes the answer.
 * On a device opened read-only only Identify and Get Log Page are sent (ReadOnlyError otherwise, before
 * anything reaches the device).
 *
 * The JMicron exchange is three SCSI commands; another caller's command between them would break it, so
 * do not share the device with other callers while it runs (the same holds for smartctl).
 */
export async function runNvme<T>(target: BridgeTarget, bridge: NvmeBridgeKind, command: NvmeAdminCommand<T>, options: BridgeRunOptions = {}): Promise<T> {
  // Read-only: the NVMe allowlist decides here, and the CDBs that carry an allowed command are vouched for.
  const vouched = targetIsReadOnly(target);
  if (vouched) {
    const refusal = nvmeReadOnlyRefusal(command);
    if (refusal !== undefined) throw new ReadOnlyError(`${command.name} refused: ${refusal}, and the device was opened read-only`);
  }
  switch (bridge) {
    case 'nvme-asmedia':
      return command.decode(await runBridgeCdb(target, asmediaNvmeCdb(command), options, vouched));
    case 'nvme-realtek':
      return command.decode(await runBridgeCdb(target, realtekNvmeCdb(command), options, vouched));
    case 'nvme-jmicron': {
      const steps = jmicronNvmeCdbs(command);
      await runBridgeCdb(target, steps.command, options, vouched);
      const data = await runBridgeCdb(target, steps.data, options, vouched);
      const completion = decodeJmicronNvmeResponse(await runBridgeCdb(target, steps.response, options, vouched));
      if (completion.status !== 0) {
        const status = describeNvmeStatus(completion.status);
        throw new NvmeStatusError(`${command.name} failed: NVMe status 0x${completion.status.toString(16).padStart(4, '0')} (${status.text})`, {
          details: { status: completion.status, sct: status.sct, sc: status.sc, dnr: status.dnr },
        });
      }
      return command.decode(data);
    }
  }
}
