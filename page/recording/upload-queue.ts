// Sends the recordings IndexedDB holds, one after another, with a progress bar; lists what is still unsent.
// Run at page load (a reload or a crash resumes) and after each survey.
import { sha256Hex, UploadRefused, uploadRecording } from '../../client/recording-upload.js';
import { markReady, removeStoredRecording, storedFile, unsentRecordings, type StoredRecording } from './recording-store.js';

export interface UploadUi {
  panel: HTMLElement;
  status: HTMLElement;
  progress: HTMLProgressElement;
  list: HTMLUListElement;
}

const describe = (r: StoredRecording) =>
  `${r.kind === 'video' ? 'Video' : 'Sensor log'} of survey ${r.survey_session_id.slice(0, 8)}…, ${new Date(r.started_at).toLocaleTimeString()}${r.size !== undefined ? `, ${(r.size / 1e6).toFixed(1)} MB` : ''}`;

/** The page's upload queue: `run()` sends everything unsent; a second call while one runs waits for it. */
export function createUploadQueue(ui: UploadUi, baseUrl = '') {
  let running: Promise<void> | null = null;

  const show = async () => {
    const unsent = await unsentRecordings();
    ui.panel.hidden = unsent.length === 0 && ui.status.textContent === '';
    ui.list.replaceChildren(
      ...unsent.map((r) => {
        const li = document.createElement('li');
        li.textContent = describe(r);
        li.dataset.recordingId = r.recording_id;
        return li;
      }),
    );
    return unsent;
  };

  const sendAll = async () => {
    for (let r of await show()) {
      // Left 'recording' by a closed tab or a crash: what was stored is the file.
      if (r.state === 'recording') {
        const file = await storedFile(r.recording_id, r.mime);
        if (file.size === 0) {
          await removeStoredRecording(r.recording_id);
          continue;
        }
        await markReady(r.recording_id, file.size, await sha256Hex(file));
        r = { ...r, state: 'ready', size: file.size };
      }
      const stored = (await unsentRecordings()).find((x) => x.recording_id === r.recording_id);
      if (!stored?.sha256) continue;
      ui.panel.hidden = false;
      ui.status.textContent = `Uploading: ${describe(stored)}`;
      ui.status.dataset.kind = 'busy';
      try {
        await uploadRecording(
          { ...stored, sha256: stored.sha256, blob: await storedFile(stored.recording_id, stored.mime) },
          {
            baseUrl,
            magicKey: stored.magic_key,
            onProgress: (p) => {
              ui.progress.max = p.total_bytes;
              ui.progress.value = p.sent_bytes;
              ui.progress.textContent = `${Math.round((100 * p.sent_bytes) / p.total_bytes)} %`;
            },
          },
        );
        await removeStoredRecording(stored.recording_id);
        ui.status.textContent = `Uploaded and verified: ${describe(stored)}`;
        ui.status.dataset.kind = 'ok';
      } catch (e) {
        ui.status.dataset.kind = 'error';
        if (e instanceof UploadRefused) {
          ui.status.textContent = `The server refused the recording (${e.message}). It stays on this device.`;
          if (e.status === 404 || e.code === 'checksum_mismatch') await removeStoredRecording(stored.recording_id);
        } else {
          ui.status.textContent = `Upload paused: ${(e as Error).message}. It stays on this device and resumes when you reload the page or finish another survey.`;
          return;
        }
      } finally {
        await show();
      }
    }
  };

  return {
    /** Sends everything unsent, in order. */
    run(): Promise<void> {
      running ??= sendAll().finally(() => (running = null));
      return running;
    },
    show,
  };
}
