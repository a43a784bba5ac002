// The edge worker's entry (wrangler.toml `main`): requests, and the cron trigger.
import { createApp } from './app.js';
import { scheduled } from './scheduled.js';

const app = createApp();

export default { fetch: app.fetch, scheduled };
