// start_throughput at the relay's border: out of place or with an offer it cannot take, it gets an `error` in
// PROTOCOL's shape and nothing starts; the probe connection stays up.
import { describe, expect, it } from 'vitest';
import { uuid } from '../../shared/ids.js';
import { errorOf, openRawClient } from '../helpers/raw-client.js';
import { directSignal } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

describe('start_throughput at the relay', () => {
  it('refuses one before the probe streams run, and one whose offer is not SDP, changing nothing', async () => {
    const c = await openRawClient(directSignal(sys.relay, { magicKey: 'tp-control' }));
    try {
      const survey = uuid();
      const ask = { type: 'start_throughput', survey_session_id: survey, direction: 'download', duration_ms: 5_000 };
      c.send({ type: 'start_survey_session', survey_session_id: survey });
      await c.until((r) => r.some((m) => m.type === 'server_side_ready'));
      c.send({ ...ask, sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' });
      await c.until((r) => errorOf(r, 'invalid_state') !== undefined);
      expect(errorOf(c.replies, 'invalid_state')).toEqual({ type: 'error', code: 'invalid_state', message: 'start_throughput: probe streams are not running' });
      c.send({ type: 'start_probe_streams', survey_session_id: survey });
      c.send({ ...ask, sdp: 'not an offer' });
      await c.until((r) => errorOf(r, 'invalid_message') !== undefined);
      expect(errorOf(c.replies, 'invalid_message')).toMatchObject({ type: 'error', code: 'invalid_message', message: expect.stringMatching(/^start_throughput: sdp: /) });
      // A duration out of range is refused by the schema, naming the field.
      c.send({ ...ask, duration_ms: 10, sdp: 'v=0' });
      await c.until((r) => r.filter((m) => m.type === 'error' && m.code === 'invalid_message').length >= 2);
      expect(c.replies.filter((m) => m.type === 'error' && m.code === 'invalid_message')[1]).toMatchObject({ message: expect.stringContaining('duration_ms') });
      expect(c.replies.some((m) => m.type === 'throughput_ready')).toBe(false);
      // The connection measures on.
      await c.until((r) => r.some((m) => m.type === 'probe_stats'));
      expect(c.conn.channels.control.readyState).toBe('open');
    } finally {
      c.conn.close();
    }
  }, 30_000);
});
