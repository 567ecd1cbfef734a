/**
 * `@usbms/core/sim`: a simulated USB Mass Storage device for tests and demos.
 * `new SimulatedDevice(options).transport` is an `MscTransport` backed by
 * RAM-resident SCSI logical units behind a Bulk-Only Transport device model,
 * with fault injection, a vendor-command hook and power-cut semantics.
 */
export {
  SimulatedDevice,
  type SimulatedDeviceOptions,
  type SimViolation,
  type SimViolationKind,
  type SimCommandRecord,
  type SimStats,
  type SimBotState,
} from './device.js';
export {
  SimLogicalUnit,
  ScsiStatus,
  type SimLunOptions,
  type SimVendorHook,
  type SimVendorResult,
  type SimVendorContext,
  type TargetPlan,
} from './scsi-target.js';
export { type SimFault, type SimFaultKind, type SimFaultHandle, type SimFaultMatch, type SimStage } from './faults.js';
export { Sense, encodeFixedSense, encodeDescriptorSense, FIXED_SENSE_LENGTH, type SimSense } from './sense.js';
export { RamStore, type SimBackingStore } from './store.js';
export { runRawCommand, rawResetRecovery, type RawCommand, type RawResult } from './raw-host.js';
export { SimProfiles } from './profiles.js';
