// Same-origin JSON calls to the edge with the session cookie, and the PROTOCOL error shape turned into words that say what to do next.
import type * as z from 'zod/mini';
import { ErrorBodySchema } from './schemas.js';

/** A refusal from the API (or no answer at all: code `network_error`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the API; answers the body parsed by `schema` (null for 204), or throws ApiError. */
export async function api<T>(method: string, path: string, schema: z.ZodMiniType<T> | null, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'no answer from the server');
  }
  const text = await res.text();
  const json = parseJson(text);
  if (!res.ok) {
    const err = ErrorBodySchema.safeParse(json);
    if (err.success) throw new ApiError(res.status, err.data.error.code, err.data.error.message);
    throw new ApiError(res.status, 'internal_error', `HTTP ${res.status}`);
  }
  if (!schema) return null as T;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(res.status, 'bad_answer', `${method} ${path} answered something unexpected`);
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** A message as the end of a sentence: "login: ana is taken" → "login: ana is taken." */
export const endSentence = (m: string) => (/[.!?]$/.test(m) ? m : `${m}.`);

const WORDS: Record<string, (message: string) => string> = {
  login_failed: () => 'The login or password is wrong. Check both and try again.',
  rate_limited: (m) => `Too many attempts: ${endSentence(m)} Wait, then try again.`,
  auth_required: () => 'You are not logged in (or your session has ended). Log in again.',
  forbidden: (m) => `Not allowed: ${endSentence(m)}`,
  not_found: (m) => `Not found: ${endSentence(m)} Reload the page to see what exists now.`,
  conflict: (m) => `That cannot be done: ${endSentence(m)}`,
  invalid_request: (m) => `Check the form: ${endSentence(m)}`,
  too_large: () => 'The request is too large. Shorten the text and try again.',
  network_error: () => 'The server could not be reached. Check the connection, then try again.',
  bad_answer: () => 'The server answered something this page does not understand. Reload the page; if it persists, tell the administrator.',
  internal_error: () => 'The server failed to do this. Try again in a minute; if it keeps failing, tell the administrator.',
};

/** A sentence for any error (ApiError or not), with what to do next; `overrides` replace the words of given codes. */
export function errorWords(err: unknown, overrides: Record<string, string> = {}): string {
  if (!(err instanceof ApiError)) return WORDS.internal_error!('');
  return overrides[err.code] ?? WORDS[err.code]?.(err.message) ?? `Something went wrong (${err.code}): ${endSentence(err.message)}`;
}
