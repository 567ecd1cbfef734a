export * from './webusb-types.js';
export * from './errors.js';
export * from './descriptors.js';
export * from './transport.js';
export * from './open.js';
