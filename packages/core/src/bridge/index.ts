export * from './nvme.js';
export * from './nvme-bridges.js';
export * from './run-nvme.js';
