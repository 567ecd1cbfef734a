export * from './command.js';
export * from './opcodes.js';
export * from './commands.js';
export * from './inquiry.js';
export * from './capacity.js';
export * from './mode-sense.js';
export * from './report-luns.js';
