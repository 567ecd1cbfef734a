export * from './client.js';
export * from './device.js';
export * from './frames.js';
export * from './port.js';
export { decodeValue, encodeValue } from './values.js';
