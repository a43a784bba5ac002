// The survey list's export button: a small export downloads as the browser's own download, as before; one the
// edge refuses inline (413 too_large, past EXPORT_INLINE_MAX_ROWS) becomes a background job shown with its
// progress and, when done, a download link.
import { api, ApiError, errorWords } from '../api.js';
import { h, say } from '../dom.js';
import { ErrorBodySchema } from '../schemas.js';
import { ExportJobSchema, ExportJobStartSchema, type ExportJobAnswer } from './survey-schemas.js';

/** How often a running job is asked about: its steps take about a second each. */
const POLL_MS = 1500;

const count = (n: number) => n.toLocaleString('en');
const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The words for a job's state. */
function progressWords(job: ExportJobAnswer): string {
  if (job.status === 'queued') return 'Export queued: it starts in a moment.';
  if (job.status === 'failed') return `The export failed: ${job.error ?? 'no reason given'}. Try again; if it keeps failing, tell the administrator.`;
  const of = job.total_rows !== null ? ` of about ${count(job.total_rows)}` : '';
  if (job.status === 'running') return `Exporting in the background: ${count(job.rows_done)}${of} rows written (${megabytes(job.bytes)}). You may stay on this page.`;
  return `Export ready: ${count(job.rows_done)} rows, ${megabytes(job.bytes)}.`;
}

/**
 * The export link and its status line. `query` gives the filter at click
 * time (key_id, from, to, user as GET /api/surveys/export takes them).
 */
export function exportControl(query: () => URLSearchParams): { link: HTMLAnchorElement; status: HTMLElement } {
  const link = h('a', { id: 'export-csv', class: 'button', href: '/api/surveys/export?format=csv', download: '' }, 'Export these surveys (CSV)');
  const status = h('p', { id: 'export-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  let running = false;

  const follow = async (id: string) => {
    let missed = 0;
    for (;;) {
      let job: ExportJobAnswer;
      try {
        job = await api('GET', `/api/surveys/export-jobs/${encodeURIComponent(id)}`, ExportJobSchema);
        missed = 0;
      } catch (err) {
        // The job runs on whatever happens to this page's requests: a poll lost on the way is asked again.
        if (!(err instanceof ApiError) || err.code !== 'network_error' || ++missed > 5) throw err;
        await new Promise((r) => setTimeout(r, POLL_MS));
        continue;
      }
      say(status, progressWords(job), job.status === 'failed' ? 'error' : job.status === 'done' ? 'ok' : '');
      if (job.status === 'done' && job.download) {
        status.append(' ', h('a', { id: 'export-download', href: job.download, download: '' }, 'Download the export'));
        return;
      }
      if (job.status === 'failed' || !status.isConnected) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  const start = async () => {
    const q = query();
    q.set('format', 'csv');
    // Asking first tells a small export (downloaded as before) from one too large for a single request.
    const probe = new AbortController();
    let resp: Response;
    try {
      resp = await fetch(`/api/surveys/export?${q}`, { credentials: 'same-origin', signal: probe.signal });
    } catch {
      throw new ApiError(0, 'network_error', 'no answer from the server');
    }
    if (resp.ok) {
      // The probe has served its purpose; the browser's own download then streams the file to disk.
      probe.abort();
      say(status, '');
      h('a', { href: `/api/surveys/export?${q}`, download: '' }).click();
      return;
    }
    const refusal = ErrorBodySchema.safeParse(await resp.json().catch(() => null));
    const code = refusal.success ? refusal.data.error.code : 'internal_error';
    if (code !== 'too_large') throw new ApiError(resp.status, code, refusal.success ? refusal.data.error.message : `HTTP ${resp.status}`);
    const filter = Object.fromEntries(q.entries());
    const job = await api('POST', '/api/surveys/export-jobs', ExportJobStartSchema, filter);
    say(status, 'This export is too large for one download: it is being written in the background.');
    await follow(job.job_id);
  };

  link.addEventListener('click', (ev) => {
    ev.preventDefault();
    if (running) return;
    running = true;
    link.setAttribute('aria-disabled', 'true');
    void start()
      .catch((err: unknown) => say(status, errorWords(err), 'error'))
      .finally(() => {
        running = false;
        link.removeAttribute('aria-disabled');
      });
  });
  return { link, status };
}
