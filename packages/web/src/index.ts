export * from './descriptors.js';
export * from './errors.js';
export * from './open.js';
export * from './transport.js';
export * from './webusb-types.js';
