// Big-endian field helpers, for the command builders and decoders of this package.
export { asciiField, checkInteger, getU16, getU24, getU32, getU64, putU16, putU24, putU32, putU64 } from './bytes.js';
export * from './capacity.js';
export * from './command.js';
export * from './commands.js';
export * from './inquiry.js';
export * from './mode-sense.js';
export * from './opcodes.js';
export * from './report-luns.js';
export * from './vendor.js';
