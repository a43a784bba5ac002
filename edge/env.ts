import type { EdgeConfig } from './config.js';
import type { Viewer } from './auth/viewer.js';

/** The static-assets binding (`[assets] binding = "ASSETS"`), typed narrowly so the edge needs no workers-types. */
export interface AssetsBinding {
  fetch(req: Request): Promise<Response>;
}

export type EdgeBindings = { ASSETS?: AssetsBinding } & Record<string, unknown>;

/** Hono's environment for every edge route: the bindings, the validated config, and the logged-in person once looked up. */
export type EdgeEnv = { Bindings: EdgeBindings; Variables: { config: EdgeConfig; viewer?: Viewer | null } };
