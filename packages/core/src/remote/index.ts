export * from './client.js';
export * from './frames.js';
export * from './port.js';
export { ByteReader, ByteWriter, decodeValue, encodeValue, MAX_VALUE_DEPTH, readValue, ValueTag, writeValue } from './values.js';
