// The capture worker thread: encodes and writes pcapng files off the relay's event loop.
import { parentPort } from 'node:worker_threads';
import { writePcapngFileSync, type PcapMeta, type RecordChunk } from './pcapng.js';

/** One file to write: the chunks' buffers arrive transferred, not copied. */
export interface WriteJob {
  id: number;
  path: string;
  chunks: RecordChunk[];
  meta: PcapMeta;
}

export type WriteResult = { id: number; ok: true; records: number; bytes: number } | { id: number; ok: false; error: string };

parentPort?.on('message', (job: WriteJob) => {
  let result: WriteResult;
  try {
    result = { id: job.id, ok: true, ...writePcapngFileSync(job.path, job.chunks, job.meta) };
  } catch (e) {
    result = { id: job.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(result);
});
