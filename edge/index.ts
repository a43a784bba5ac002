// The edge worker's entry (wrangler.toml `main`).
import { createApp } from './app.js';

export default createApp();
