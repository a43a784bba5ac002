import { addressPrefix, plainAddress } from '../shared/address-prefix.js';
import { upsertSurveyConnection } from '../shared/db/survey-connections.js';
import { setRelayPeerSurvey } from '../shared/db/relays.js';
import { endSurveySession, type SurveyEndReason } from '../shared/db/surveys.js';
import type { MetricWriter } from './metric-writer.js';
import { connectionFamily, notePair, type Session } from './session.js';

/** Connections whose survey end is recorded: the close that follows an explicit stop must not overwrite it. */
const ended = new WeakSet<Session>();

/** Records the end of a connection's survey, once per connection (across connections the latest end wins). */
export function endSurvey(writer: MetricWriter, s: Session, reason: Exclude<SurveyEndReason, 'relay_restart'>): void {
  if (s.surveyId === null || ended.has(s)) return;
  ended.add(s);
  writer.enqueue({ stmt: endSurveySession(s.surveyId, Date.now(), reason) });
}

/** Records on the peer's row the survey it carries, so a restart after a crash can end that survey. */
export function linkPeerToSurvey(writer: MetricWriter, relayId: string, s: Session): void {
  if (s.surveyId === null) return;
  writer.enqueue({ stmt: setRelayPeerSurvey({ peer_id: s.peerId, relay_id: relayId, magic_key: s.magicKey, conn_id: s.connId }, s.surveyId, Date.now()) });
  // The connection's family, path and address pair (issue 22), the client's address cut to its /24 or /48: the pair
  // as selected now, once the channels are open (nomination may have moved it since 'connected').
  notePair(s);
  const client = s.pair ? plainAddress(s.pair.remote.ip) : null;
  writer.enqueue({
    stmt: upsertSurveyConnection(
      {
        session_id: s.surveyId,
        conn_id: s.connId,
        family: connectionFamily(s),
        path_index: s.pathIndex,
        client_prefix: client === null ? null : addressPrefix(client),
        client_port: s.pair?.remote.port ?? null,
        relay_address: s.pair?.local.ip ?? null,
        relay_port: s.pair?.local.port ?? null,
        candidate_type: s.pair?.remoteType ?? null,
      },
      Date.now(),
    ),
  });
}
