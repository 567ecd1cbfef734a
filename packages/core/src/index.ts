export * from './errors.js';
export * from './transport.js';
export * from './trace.js';
export * from './bot/wrappers.js';
export * from './scsi/command.js';
export * from './sense/types.js';
