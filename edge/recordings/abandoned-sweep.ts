// The sweep of abandoned recording uploads (the cron trigger; `npm run sweep` locally): a pending recording that
// took no chunk for RECORDING_ABANDON_S loses its multipart upload, its waiting chunk objects and its rows.
import { dropSweptRecordings, markAbandonedUploads } from '../../shared/db/recordings.js';
import type { EdgeConfig } from '../config.js';
import { withDb } from '../db.js';
import { deleteObjects, type ObjectStore } from './object-store.js';
import { removeRecordingUploads } from './upload-removal.js';

/** Recordings one run removes at most: each costs a few object-store calls, and a run's subrequests are limited. */
export const SWEEP_BATCH = 50;

/** What a sweep removed. */
export interface SweepOutcome {
  recordings: number;
  chunkObjects: number;
}

/**
 * Removes up to SWEEP_BATCH abandoned uploads. They are marked failed first,
 * so a chunk arriving meanwhile is refused (and removes its own object); the
 * rows go last, so an object-store error leaves them marked for the next run.
 */
export async function sweepAbandonedUploads(config: EdgeConfig, store: ObjectStore, now = Date.now()): Promise<SweepOutcome> {
  const abandoned = await withDb(config, (db) => markAbandonedUploads(db, now - config.recordings.abandonMs, SWEEP_BATCH));
  if (abandoned.length === 0) return { recordings: 0, chunkObjects: 0 };
  const chunkObjects = await removeRecordingUploads(store, abandoned.map((a) => ({ storageKey: a.storage_key, uploadId: a.upload_id || null })));
  // A completed upload whose row never said so (its request died in between) left the file itself.
  await deleteObjects(store, abandoned.map((a) => a.storage_key).filter(Boolean));
  await withDb(config, (db) => dropSweptRecordings(db, abandoned.map((a) => a.recording_id)));
  console.log(`edge: swept ${abandoned.length} abandoned recording upload(s), ${chunkObjects} chunk object(s)`);
  return { recordings: abandoned.length, chunkObjects };
}
