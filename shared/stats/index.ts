export * from './percentiles.js';
export * from './baseline.js';
export * from './direction-stats.js';
export * from './aggregate.js';
