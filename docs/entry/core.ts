/**
 * The transport-agnostic core: BOT engine, command queue, SCSI commands and decoders, sense data, quirks, devices and logical units.
 *
 * @module @usbms/core
 */
export * from '../../packages/core/src/index.js';
