import type { z } from 'zod';

/** Public error codes of PROTOCOL.md §1, with the HTTP status each goes with. */
export const HTTP_ERRORS = {
  invalid_request: 400,
  auth_required: 401,
  /** Login or password wrong (never says which), or an OpenID sign-in refused. */
  login_failed: 401,
  key_invalid: 403,
  key_expired: 403,
  key_revoked: 403,
  key_limit_reached: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  /** A recording would take its key past its storage quota (nothing stored). */
  quota_exceeded: 413,
  /** The object store is not configured or not answering. */
  storage_unavailable: 503,
  /** Range header outside the file. */
  range_not_satisfiable: 416,
  /** A chunk or whole file whose SHA-256 is not the one declared (nothing stored). */
  checksum_mismatch: 422,
  /** `complete` before every chunk arrived; the message names the missing ones. */
  incomplete: 422,
  rate_limited: 429,
  internal_error: 500,
  relay_failed: 502,
  no_relay: 503,
  /** The database's schema is older than the edge (PROTOCOL.md v3): `npm run migrate` is due. */
  schema_behind: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** The error body every HTTP error carries. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Builds the `{"error": {code, message}}` body. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** A JSON error Response in the PROTOCOL.md shape, with the status that goes with `code`. */
export function errorResponse(code: HttpErrorCode, message: string, headers?: HeadersInit): Response {
  return new Response(JSON.stringify(errorBody(code, message)), {
    status: HTTP_ERRORS[code],
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** One line naming the first bad field of a zod error, e.g. `sdp: expected string, received undefined`. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
