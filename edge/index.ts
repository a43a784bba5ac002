// The edge worker's entry (wrangler.toml `main`): requests, the cron trigger, and the queue consumer that runs background exports.
import { createApp } from './app.js';
import type { EdgeBindings } from './env.js';
import { handleExportBatch, type MessageBatch } from './exports/export-queue.js';
import { scheduled } from './scheduled.js';

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled,
  queue: (batch: MessageBatch, env: EdgeBindings) => handleExportBatch(batch, env),
};
