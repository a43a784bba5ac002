export * from './client.js';
export * from './migrations.js';
export * from './migrate.js';
export * from './keys.js';
export * from './relays.js';
export * from './surveys.js';
export * from './relay-health.js';
