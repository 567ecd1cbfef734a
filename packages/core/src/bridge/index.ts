export * from './ata-bridges.js';
export * from './nvme.js';
export * from './nvme-bridges.js';
export * from './route.js';
export * from './run-nvme.js';
