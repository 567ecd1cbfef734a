export * from './client.js';
export * from './frames.js';
export * from './port.js';
export { decodeValue, encodeValue } from './values.js';
