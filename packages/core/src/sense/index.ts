export * from './asc-table.js';
export * from './decode.js';
export * from './format.js';
export * from './types.js';
