// Runs the headless client in a process of its own, as a browser is apart from the relay: neither delays the other's event loop.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { startSurvey, type SurveyHandle } from '../client/survey-client.js';
import { directSignal } from '../test/helpers/system.js';
import { ClientRequestSchema } from './client-messages.js';
import { serveRequests } from './ipc.js';
import { signalThrough } from './signal-through.js';

let survey: SurveyHandle | null = null;
const errors: string[] = [];

serveRequests(
  async (body) => {
    const m = ClientRequestSchema.parse(body);
    if (m.op === 'start') {
      if (survey) throw new Error('already started');
      survey = await startSurvey({
        baseUrl: '',
        magicKey: m.magicKey,
        RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
        signal: signalThrough(directSignal(m.relay, { magicKey: m.magicKey }), m.forwarder),
        ...(m.startStreamsDelayMs ? { startStreamsDelayMs: m.startStreamsDelayMs } : {}),
        onEvent: (e) => {
          if (e.type === 'error') errors.push(`${e.code}: ${e.message}`);
        },
      });
      // The client's probes began just now (startSurvey resolves as they start), on the epoch clock the forwarder's log maps to.
      return { surveySessionId: survey.surveySessionId, connIds: survey.connIds, probesFromMs: performance.timeOrigin + performance.now() };
    }
    if (!survey) throw new Error('not started');
    if (m.op === 'stop') return { pcapAvailable: (await survey.stop()).pcap_available, errors };
    survey.close();
    setImmediate(() => process.disconnect());
    return null;
  },
  async () => survey?.close(),
);
