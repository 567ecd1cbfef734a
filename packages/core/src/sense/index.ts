export * from './types.js';
export * from './decode.js';
export * from './asc-table.js';
export * from './format.js';
