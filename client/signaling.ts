import { SignalingStartResponseSchema } from '../shared/protocol/signaling.js';

/** What the client sends to get an answer: its offer and the connection id it chose. */
export interface OfferToSignal {
  sdp: string;
  type: 'offer';
  conn_id: string;
}

export interface SignaledAnswer {
  sdp: string;
  session_id: string;
  relay_id: string;
}

export type Signal = (offer: OfferToSignal) => Promise<SignaledAnswer>;

/** A failure the user should see in words: an error code of PROTOCOL.md §1, or a client-side one. */
export class SurveyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Signals through the edge's `POST /api/signaling/start`, mapping error bodies to SurveyErrors. */
export function edgeSignal(baseUrl: string, magicKey: string, fetchFn: typeof fetch = fetch): Signal {
  return async (offer) => {
    let resp: Response;
    try {
      resp = await fetchFn(`${baseUrl}/api/signaling/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...offer, magic_key: magicKey }),
      });
    } catch (e) {
      throw new SurveyError('network_error', `cannot reach ${baseUrl || 'the server'}: ${(e as Error).message}`);
    }
    const body: unknown = await resp.json().catch(() => null);
    if (!resp.ok) {
      const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      throw new SurveyError(typeof err?.code === 'string' ? err.code : `http_${resp.status}`, typeof err?.message === 'string' ? err.message : `HTTP ${resp.status}`);
    }
    const parsed = SignalingStartResponseSchema.safeParse(body);
    if (!parsed.success) throw new SurveyError('protocol_error', 'the server sent an answer this client does not understand');
    return parsed.data;
  };
}
