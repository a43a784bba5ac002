export * from './errors.js';
export * from './signaling.js';
export * from './stats.js';
export * from './probe.js';
export * from './control.js';
export * from './relay-api.js';
export * from './paths.js';
