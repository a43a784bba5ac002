// Uploads one recording file the resumable way (PROTOCOL.md §4): announce, send the chunks the server
// lacks with their SHA-256, complete; network failures and 5xx are retried with backoff, and a restart
// (a reloaded page) resumes from the server's answer.
import type { RecordingUploadState } from '../shared/protocol/recordings.js';
import { sha256HexOfBytes } from '../shared/signing.js';

export interface RecordingFile {
  recording_id: string;
  survey_session_id: string;
  kind: 'video' | 'sensors';
  mime: string;
  started_at?: number;
  device_info?: Record<string, string | number | boolean | null>;
  notes?: string;
  /** The whole file. */
  blob: Blob;
  /** Its SHA-256 in hex (computed once, when the file was finished). */
  sha256: string;
}

export interface UploadProgress {
  sent_bytes: number;
  total_bytes: number;
  chunks_done: number;
  chunks: number;
}

export interface UploadOptions {
  baseUrl: string;
  magicKey: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** Retries of one request before giving up (default 6), with delays doubling from retryMs (default 500). */
  retries?: number;
  retryMs?: number;
}

/** A refusal retrying cannot fix (4xx), in the server's words. */
export class UploadRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Hex SHA-256 of a blob (WebCrypto; the whole file is read once). */
export async function sha256Hex(blob: Blob): Promise<string> {
  return sha256HexOfBytes(await blob.arrayBuffer());
}

/** Uploads `file` until the server has verified it; resolves when it is complete. */
export async function uploadRecording(file: RecordingFile, opts: UploadOptions): Promise<void> {
  const auth = { authorization: `MagicKey ${opts.magicKey}` };
  const call = (path: string, init: RequestInit) => withRetry(() => fetch(`${opts.baseUrl}${path}`, { ...init, signal: opts.signal }), opts);
  const state = (await (
    await call('/api/recordings', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        survey_session_id: file.survey_session_id,
        recording_id: file.recording_id,
        kind: file.kind,
        size_bytes: file.blob.size,
        sha256: file.sha256,
        mime: file.mime,
        ...(file.started_at !== undefined ? { started_at: file.started_at } : {}),
        ...(file.device_info ? { device_info: file.device_info } : {}),
        ...(file.notes ? { notes: file.notes } : {}),
      }),
    })
  ).json()) as RecordingUploadState;
  const held = new Set(state.received);
  const size = (i: number) => Math.min(state.chunk_bytes, file.blob.size - i * state.chunk_bytes);
  let sent = [...held].reduce((n, i) => n + size(i), 0);
  const report = () => opts.onProgress?.({ sent_bytes: sent, total_bytes: file.blob.size, chunks_done: held.size, chunks: state.chunks });
  report();
  if (state.status !== 'complete') {
    for (let i = 0; i < state.chunks; i++) {
      if (held.has(i)) continue;
      const bytes = await file.blob.slice(i * state.chunk_bytes, i * state.chunk_bytes + size(i)).arrayBuffer();
      const digest = await sha256HexOfBytes(bytes);
      await call(`/api/recordings/${file.recording_id}/chunks/${i}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream', 'x-chunk-sha256': digest }, body: bytes });
      held.add(i);
      sent += bytes.byteLength;
      report();
    }
    await call(`/api/recordings/${file.recording_id}/complete`, { method: 'POST', headers: auth });
  }
}

/** Runs a request until it gets a 2xx; 4xx (but 408/429) is a refusal, the rest is retried with backoff. */
async function withRetry(send: () => Promise<Response>, opts: UploadOptions): Promise<Response> {
  const retries = opts.retries ?? 6;
  let delay = opts.retryMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    let resp: Response | null = null;
    let failure = '';
    try {
      resp = await send();
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      failure = (e as Error).message;
    }
    if (resp?.ok) return resp;
    if (resp && resp.status >= 400 && resp.status < 500 && resp.status !== 408 && resp.status !== 429) {
      const body = (await resp.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new UploadRefused(resp.status, body?.error?.code ?? 'refused', body?.error?.message ?? `HTTP ${resp.status}`);
    }
    if (attempt >= retries) throw new Error(`upload failed after ${retries + 1} attempts: ${resp ? `HTTP ${resp.status}` : failure}`);
    await resp?.body?.cancel();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30_000);
  }
}
