/**
 * A simulated USB Mass Storage device (RAM-backed SCSI target behind a Bulk-Only Transport device model) for tests and demos.
 *
 * @module @usbms/core/sim
 */
export * from '../../packages/core/src/sim/index.js';
