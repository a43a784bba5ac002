// Every send path of the headless client survives a channel that has just closed: the relay going away mid-upload and
// mid-download ends the survey with an error event in words, and calls made after it (traffic, stop, close) throw nothing.
import { describe, expect, it } from 'vitest';
import { NodeRTCPeerConnection } from '../../cli/node-peer-connection.js';
import { startBulkUpload } from '../../client/bulk-upload.js';
import { openConnection } from '../../client/connection.js';
import { startSurvey, type SurveyEvent } from '../../client/survey-client.js';
import { directSignal, eventually, startTestDb, startTestRelay } from '../helpers/system.js';

describe('headless client sends after a close', () => {
  it('a relay that closes during upload and download: one error event in words, later calls throw nothing', async () => {
    const db = await startTestDb();
    const relay = await startTestRelay(db);
    try {
      const events: SurveyEvent[] = [];
      const survey = await startSurvey({
        baseUrl: '',
        magicKey: 'x',
        RTCPeerConnection: NodeRTCPeerConnection,
        signal: directSignal(relay, { magicKey: 'send-after-close' }),
        onEvent: (e) => events.push(e),
      });
      survey.setTraffic({ download: true, upload: true });
      // Bytes flow both ways before the relay goes.
      await eventually(async () => events.some((e) => e.type === 'stats' && (e.throughput?.s2c_bytes_per_s ?? 0) > 0 && (e.throughput?.c2s_bytes_per_s ?? 0) > 0), 10_000, 50);
      await relay.close();
      await eventually(async () => events.some((e) => e.type === 'status' && e.status === 'error'), 10_000, 20);
      const errors = events.filter((e) => e.type === 'error');
      expect(errors).toEqual([{ type: 'error', code: 'channel_closed', message: 'the connection to the measurement server dropped (the server went away or the network failed)' }]);
      // Whatever a caller still does is a no-op, not a throw.
      survey.setTraffic({ download: false, upload: true });
      survey.setServerTraffic(true);
      expect(await survey.stop()).toEqual({ pcap_available: false });
      survey.close();
      expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    } finally {
      await relay.close();
      await db.close();
    }
  }, 30_000);

  it('a bulk upload started on a channel that has just closed sends nothing and throws nothing', async () => {
    const db = await startTestDb();
    const relay = await startTestRelay(db);
    try {
      const conn = await openConnection({ RTCPeerConnection: NodeRTCPeerConnection, signal: directSignal(relay, { magicKey: 'upload-after-close' }), connId: crypto.randomUUID(), iceTimeoutMs: 10_000 });
      const bulk = conn.channels.bulk;
      expect(bulk.readyState).toBe('open');
      const closed = new Promise<void>((resolve) => bulk.addEventListener('close', () => resolve(), { once: true }));
      await relay.close();
      await closed;
      let sent = 0;
      // The polyfill's native channel is gone by now: even setting its threshold throws inside.
      const upload = startBulkUpload(bulk, (n) => (sent += n));
      upload.stop();
      expect(sent).toBe(0);
      conn.close();
    } finally {
      await relay.close();
      await db.close();
    }
  }, 30_000);
});
