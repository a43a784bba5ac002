import type { z } from 'zod';
import type { IpFamily } from '../shared/ip-family.js';
import { IceServersResponseSchema, SignalingStartResponseSchema } from '../shared/protocol/signaling.js';

/** What the client sends to get an answer: its offer and the connection id it chose. */
export interface OfferToSignal {
  sdp: string;
  type: 'offer';
  conn_id: string;
  /** The session_id of an answer whose connection never came up: the edge records that relay's failure and picks another. */
  retry_of?: string;
  /** PROTOCOL §2 v3: the family this connection is held to and its path within the family. */
  family?: IpFamily;
  path_index?: number;
  /** On a survey's first connection: how many connections it opens at once (the key's limit must hold them all). */
  planned_connections?: number;
}

export interface SignaledAnswer {
  sdp: string;
  session_id: string;
  relay_id: string;
}

/** Gets the relay's answer to an offer. */
export interface Signal {
  (offer: OfferToSignal): Promise<SignaledAnswer>;
  /** STUN/TURN servers to gather with, asked for before each offer; absent means none (e.g. straight to a relay). */
  iceServers?: () => Promise<RTCIceServer[]>;
}

/** A failure the user should see in words: an error code of PROTOCOL.md §1, or a client-side one. */
export class SurveyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Signals through the edge's `POST /api/signaling/start`, with ICE servers from `GET /api/ice-servers`; error bodies become SurveyErrors. */
export function edgeSignal(baseUrl: string, magicKey: string, fetchFn: typeof fetch = fetch): Signal {
  const signal: Signal = async (offer) =>
    callEdge(
      baseUrl,
      fetchFn,
      '/api/signaling/start',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...offer, magic_key: magicKey }) },
      SignalingStartResponseSchema,
    );
  signal.iceServers = () => edgeIceServers(baseUrl, magicKey, fetchFn);
  return signal;
}

/** The edge's `GET /api/ice-servers`: STUN servers and a TURN server with credentials minted for this call. */
export async function edgeIceServers(baseUrl: string, magicKey: string, fetchFn: typeof fetch = fetch): Promise<RTCIceServer[]> {
  const answer = await callEdge(baseUrl, fetchFn, '/api/ice-servers', { headers: { authorization: `MagicKey ${magicKey}` } }, IceServersResponseSchema);
  return answer.ice_servers;
}

async function callEdge<S extends z.ZodType>(baseUrl: string, fetchFn: typeof fetch, path: string, init: RequestInit, schema: S): Promise<z.infer<S>> {
  let resp: Response;
  try {
    resp = await fetchFn(`${baseUrl}${path}`, init);
  } catch (e) {
    throw new SurveyError('network_error', `cannot reach ${baseUrl || 'the server'}: ${(e as Error).message}`);
  }
  const body: unknown = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    throw new SurveyError(typeof err?.code === 'string' ? err.code : `http_${resp.status}`, typeof err?.message === 'string' ? err.message : `HTTP ${resp.status}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new SurveyError('protocol_error', 'the server sent an answer this client does not understand');
  return parsed.data;
}
