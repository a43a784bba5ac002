// A headless client connection run as a child process (e.g. `ip netns exec <ns> node --import tsx ...`): it opens a
// connection to the relay at RELAY_URL (signed as the edge would), starts a survey and its probe streams, sends each
// JSON line of stdin as a control message, and prints every control message the relay sends as one JSON line.
import { createInterface } from 'node:readline';
import { uuid } from '../../shared/ids.js';
import { openRawClient } from './raw-client.js';
import { directSignal } from './system.js';

const relay = { url: process.env.RELAY_URL!, relayId: process.env.RELAY_ID! };
const client = await openRawClient(directSignal(relay, { magicKey: process.env.MAGIC_KEY ?? 'netns-key' }));
const surveyId = uuid();
let sent = client.replies.length;
const flush = () => {
  for (; sent < client.replies.length; sent++) process.stdout.write(JSON.stringify(client.replies[sent]) + '\n');
};
const control = client.conn.channels.control;
const collect = control.onmessage;
control.onmessage = (e) => {
  collect?.call(control, e);
  flush();
};
process.stdout.write(JSON.stringify({ type: 'client_ready', survey_session_id: surveyId, conn_id: client.conn.connId }) + '\n');
client.send({ type: 'start_survey_session', survey_session_id: surveyId });
await client.until((r) => r.some((m) => m.type === 'server_side_ready'));
client.send({ type: 'start_probe_streams', survey_session_id: surveyId });
createInterface({ input: process.stdin })
  .on('line', (line) => client.send({ survey_session_id: surveyId, ...(JSON.parse(line) as Record<string, unknown>) }))
  .on('close', () => {
    client.conn.close();
    process.exit(0);
  });
