// The edge worker's entry (wrangler.toml `main`): the HTTP app, and the queue consumer that runs background exports.
import { createApp } from './app.js';
import type { EdgeBindings } from './env.js';
import { handleExportBatch, type MessageBatch } from './exports/export-queue.js';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch: MessageBatch, env: EdgeBindings) => handleExportBatch(batch, env),
};
