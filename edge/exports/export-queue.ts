// The EXPORT_QUEUE binding: the producer the job routes send to, and the consumer that runs each message as one
// export step (wrangler.toml `[[queues.producers]]` / `[[queues.consumers]]`; wrangler dev runs the same queue locally).
import * as z from 'zod';
import { configFor } from '../config.js';
import { openDb } from '../db.js';
import type { EdgeBindings } from '../env.js';
import { HttpError } from '../errors.js';
import { objectStoreOf } from '../recordings/object-store.js';
import { abandonExportJob, runExportStep, RowsChangedError, type ExportMessage } from './export-step.js';

/** What the edge calls on a queue producer binding. */
export interface ExportQueue {
  send(body: ExportMessage): Promise<void>;
}

/** One delivered message, as a queue consumer receives it. */
interface QueueMessage {
  readonly body: unknown;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** A batch of messages handed to the worker's `queue` handler. */
export interface MessageBatch {
  readonly queue: string;
  readonly messages: readonly QueueMessage[];
}

/**
 * Tries a step gets before its job is marked failed. Below wrangler.toml's
 * max_retries, so the job row always learns of the failure before the queue
 * drops the message.
 */
export const EXPORT_STEP_ATTEMPTS = 4;

const ExportMessageSchema = z.object({ job_id: z.string().min(1).max(64), part: z.number().int().min(1).max(10_000) });

/** The EXPORT_QUEUE binding, or 503 saying how to configure it. */
export function exportQueueOf(env: EdgeBindings | undefined): ExportQueue {
  const queue = env?.EXPORT_QUEUE as ExportQueue | undefined;
  if (!queue || typeof queue.send !== 'function') {
    throw new HttpError('storage_unavailable', 'background exports are not configured: bind a queue as EXPORT_QUEUE in wrangler.toml');
  }
  return queue;
}

/** The worker's queue handler: each message is one export step; a failing step is retried, then its job marked failed. */
export async function handleExportBatch(batch: MessageBatch, env: EdgeBindings): Promise<void> {
  const store = objectStoreOf(env);
  const queue = exportQueueOf(env);
  const db = await openDb(configFor(env));
  const deps = { db, store, send: (m: ExportMessage) => queue.send(m), now: () => Date.now() };
  try {
    for (const msg of batch.messages) {
      const parsed = ExportMessageSchema.safeParse(msg.body);
      if (!parsed.success) {
        console.error(`edge: export queue: dropped a message that is not an export step: ${parsed.error.message}`);
        msg.ack();
        continue;
      }
      try {
        await runExportStep(deps, parsed.data, msg.attempts);
        msg.ack();
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        const final = e instanceof RowsChangedError || msg.attempts >= EXPORT_STEP_ATTEMPTS;
        console.error(`edge: export job ${parsed.data.job_id} part ${parsed.data.part} failed (attempt ${msg.attempts}${final ? ', giving up' : ''}): ${reason}`);
        if (final) {
          await abandonExportJob(deps, parsed.data.job_id, reason);
          msg.ack();
        } else msg.retry({ delaySeconds: 2 * msg.attempts });
      }
    }
  } finally {
    db.close();
  }
}
