/**
 * WebUSB-shaped fakes backed by any MscTransport (normally the simulator), for tests.
 *
 * @module @usbms/web/fake
 */
export * from '../../packages/web/src/fake/index.js';
