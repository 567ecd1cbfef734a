/**
 * Node.js adapter over node-usb 3.x: discovery, kernel-driver handoff, the MscTransport implementation and openDevice().
 *
 * @module @usbms/node
 */
export * from '../../packages/node/src/index.js';
