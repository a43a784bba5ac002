// /console/live: the clients connected now on every relay, refreshed every 2 s by polling GET /api/live (one
// database read a poll; works through any proxy); an admin can end a session; peers of a relay that stopped
// heartbeating are marked until they drop out.
import { api, errorWords } from '../api.js';
import { h, say } from '../dom.js';
import { duration } from '../format.js';
import type { MeView } from '../schemas.js';
import { LivePeersSchema, type LivePeer } from './survey-schemas.js';

// Every second: a new client shows within 2 s even counting the request itself.
const POLL_MS = 1000;
const n = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '—' : v.toFixed(d));

/** Draws the live view into `root`; returns a function that stops polling. */
export function liveView(root: HTMLElement, me: MeView): () => void {
  const body = h('tbody', { id: 'live-rows' });
  const status = h('p', { id: 'live-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const stamp = h('p', { id: 'live-updated', class: 'muted' });
  root.replaceChildren(
    h(
      'section',
      { class: 'panel', 'aria-label': 'Connected now' },
      h('h2', {}, 'Connected now'),
      h('p', { class: 'muted' }, 'Refreshed every second. Up is client → relay, down relay → client; each figure is the last full second.'),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { id: 'live', class: 'list' },
          h('thead', {}, h('tr', {}, ...['Key', 'Relay', 'Connected', 'Loss up / down %', 'RTT ms', 'Delay p99 up / down ms', 'Survey', ''].map((t) => h('th', { scope: 'col' }, t)))),
          body,
        ),
      ),
      stamp,
      status,
    ),
  );
  // Asked once already (the table is redrawn every poll, so this outlives the buttons).
  const armed = new Set<string>();
  const row = (p: LivePeer) => {
    const end = me.role === 'admin' && p.state === 'connected' ? h('button', { type: 'button', 'data-end': p.peer_id }, armed.has(p.peer_id) ? 'Click again to end it' : 'End') : null;
    end?.addEventListener('click', () => {
      if (!armed.has(p.peer_id)) {
        armed.add(p.peer_id);
        end.textContent = 'Click again to end it';
        return;
      }
      armed.delete(p.peer_id);
      void api('POST', `/api/live/${encodeURIComponent(p.peer_id)}/end`, null).then(
        () => say(status, 'Session ended.', 'ok'),
        (err: unknown) => say(status, errorWords(err), 'error'),
      );
    });
    const { c2s, s2c } = p.last_stats;
    return h(
      'tr',
      { 'data-peer': p.peer_id, 'data-state': p.state, 'data-survey': p.survey_session_id ?? '' },
      h('td', {}, p.key_label),
      h('td', {}, `${p.relay_id} (${p.region})${p.state === 'relay_lost' ? ' — relay not heard from' : ''}`),
      h('td', {}, duration(Date.now() - p.connected_at)),
      h('td', {}, `${n(c2s?.loss_rate, 2)} / ${n(s2c?.loss_rate, 2)}`),
      h('td', {}, n(s2c?.rtt_p50_ms ?? c2s?.rtt_p50_ms, 2)),
      h('td', {}, `${n(c2s?.delay_p99_ms)} / ${n(s2c?.delay_p99_ms)}`),
      h('td', {}, p.survey_session_id ? h('a', { href: `/console/surveys/${encodeURIComponent(p.survey_session_id)}` }, p.survey_session_id.slice(0, 8)) : '—'),
      h('td', {}, end),
    );
  };
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async () => {
    try {
      const peers = await api('GET', '/api/live', LivePeersSchema);
      if (stopped) return;
      body.replaceChildren(...peers.map(row));
      stamp.textContent = `${peers.length} connected · updated ${new Date().toLocaleTimeString()}`;
      if (status.dataset.kind === 'error') say(status, '');
    } catch (err) {
      say(status, `${errorWords(err)} Retrying every second.`, 'error');
    }
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
