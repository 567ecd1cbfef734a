/**
 * `@usbms/core/sim`: a simulated USB Mass Storage device for tests and demos.
 * `new SimulatedDevice(options).transport` is an `MscTransport` backed by
 * RAM-resident SCSI logical units behind a Bulk-Only Transport device model,
 * with fault injection, a vendor-command hook and power-cut semantics.
 */

export { cypressAtaHook, jmicronAtaHook, SIM_ATA_BRIDGE_IDS, type SimAtaBridgeKind, simAtaBridge, sunplusAtaHook } from './ata-bridges.js';
export {
  type SimBotState,
  type SimCommandRecord,
  type SimStats,
  SimulatedDevice,
  type SimulatedDeviceOptions,
  type SimViolation,
  type SimViolationKind,
} from './device.js';
export type { SimFault, SimFaultHandle, SimFaultKind, SimFaultMatch, SimStage } from './faults.js';
export { asmediaNvmeHook, jmicronNvmeHook, realtekNvmeHook, SIM_NVME_BRIDGE_IDS, type SimNvmeBridgeKind, simNvmeBridge } from './nvme-bridges.js';
export { type SimNvmeCompletion, SimNvmeDrive, type SimNvmeDriveOptions, SimNvmeStatus } from './nvme-drive.js';
export { SimProfiles } from './profiles.js';
export { type RawCommand, type RawResult, rawResetRecovery, runRawCommand } from './raw-host.js';
export { type SimAtaAttribute, SimAtaDrive, type SimAtaDriveOptions, type SimAtaFaults } from './sat-target.js';
export { ScsiStatus, type SimVendorContext, type SimVendorHook, type SimVendorResult, type TargetPlan } from './scsi-plan.js';
export { SimLogicalUnit, type SimLunOptions } from './scsi-target.js';
export { encodeDescriptorSense, encodeFixedSense, FIXED_SENSE_LENGTH, Sense, type SimSense } from './sense.js';
export { RamStore, type SimBackingStore } from './store.js';
