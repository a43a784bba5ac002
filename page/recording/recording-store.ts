// Recordings kept in IndexedDB until the server has verified them: a closed tab, a crash or a lost network loses none.

export interface StoredRecording {
  recording_id: string;
  survey_session_id: string;
  kind: 'video' | 'sensors';
  mime: string;
  /** Survey clock (ms since epoch) at the file's first byte. */
  started_at: number;
  /** The key the survey ran with: needed to upload after a reload. */
  magic_key: string;
  device_info: Record<string, string | number | boolean | null>;
  /** The technician's words about the walk, if any. */
  notes?: string;
  /** 'recording' while parts arrive; 'ready' once finished (size and sha256 known). */
  state: 'recording' | 'ready';
  size?: number;
  sha256?: string;
  created_at: number;
}

interface Part {
  recording_id: string;
  seq: number;
  blob: Blob;
}

const DB_NAME = 'netpoke-recordings';

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      d.createObjectStore('recordings', { keyPath: 'recording_id' });
      d.createObjectStore('parts', { keyPath: ['recording_id', 'seq'] });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB is not available'));
  });
  return opened;
}

/** Runs `fn` in one transaction and resolves when it has committed (not merely when the request succeeded). */
async function tx<T>(stores: string[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => IDBRequest<T> | void): Promise<T | undefined> {
  const t = (await db()).transaction(stores, mode);
  const req = fn(t);
  return new Promise((resolve, reject) => {
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error ?? new Error('IndexedDB write failed'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB write aborted (storage full?)'));
  });
}

/** Starts a recording's entry. */
export async function createStoredRecording(r: StoredRecording): Promise<void> {
  await tx(['recordings'], 'readwrite', (t) => t.objectStore('recordings').put(r));
}

/** Appends a piece of the file as it is produced (every second). */
export async function appendPart(recordingId: string, seq: number, blob: Blob): Promise<void> {
  await tx(['parts'], 'readwrite', (t) => t.objectStore('parts').put({ recording_id: recordingId, seq, blob } satisfies Part));
}

/** The whole file, from its parts in order. */
export async function storedFile(recordingId: string, mime: string): Promise<Blob> {
  const range = IDBKeyRange.bound([recordingId, 0], [recordingId, Number.MAX_SAFE_INTEGER]);
  const parts = (await tx(['parts'], 'readonly', (t) => t.objectStore('parts').getAll(range))) as Part[];
  return new Blob(parts.sort((a, b) => a.seq - b.seq).map((p) => p.blob), { type: mime });
}

/** Marks a recording finished, with its size and SHA-256. */
export async function markReady(recordingId: string, size: number, sha256: string): Promise<void> {
  const t = (await db()).transaction(['recordings'], 'readwrite');
  const store = t.objectStore('recordings');
  const get = store.get(recordingId);
  get.onsuccess = () => {
    const r = get.result as StoredRecording | undefined;
    if (r) store.put({ ...r, state: 'ready', size, sha256 } satisfies StoredRecording);
  };
  await new Promise<void>((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error ?? new Error('IndexedDB write failed'));
  });
}

/** Every recording not yet verified by the server, oldest first. */
export async function unsentRecordings(): Promise<StoredRecording[]> {
  const all = ((await tx(['recordings'], 'readonly', (t) => t.objectStore('recordings').getAll())) ?? []) as StoredRecording[];
  return all.sort((a, b) => a.created_at - b.created_at);
}

/** Forgets a recording and its parts (once the server verified it). */
export async function removeStoredRecording(recordingId: string): Promise<void> {
  const range = IDBKeyRange.bound([recordingId, 0], [recordingId, Number.MAX_SAFE_INTEGER]);
  await tx(['recordings', 'parts'], 'readwrite', (t) => {
    t.objectStore('parts').delete(range);
    t.objectStore('recordings').delete(recordingId);
  });
}
