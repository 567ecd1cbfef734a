/**
 * WebUSB adapter for Chromium-based browsers and Electron renderers.
 *
 * @module @usbms/web
 */
export * from '../../packages/web/src/index.js';
