export * from './commands.js';
export * from './identify.js';
export * from './pass-through.js';
export * from './read-only.js';
export * from './registers.js';
export * from './run.js';
export * from './smart.js';
export * from './vpd.js';
