import type { Context } from 'hono';
import { ConfigError } from '../shared/config.js';
import { errorResponse, type HttpErrorCode } from '../shared/protocol/errors.js';
import { isSchemaMissingError, SchemaBehindError } from '../shared/db/schema-version.js';
import { forgetSchemaChecks } from './schema-check.js';

/** A refusal that leaves the edge as a PROTOCOL.md §1 error body with the status of its code. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Turns any thrown error into a PROTOCOL-shaped answer: known refusals keep their code; anything else is logged and becomes a bare 500. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof HttpError) return errorResponse(err.code, err.message);
  if (err instanceof ConfigError) {
    // The operator must see which variable is wrong; values are never echoed.
    console.error(`edge: ${err.message}`);
    return errorResponse('internal_error', `the edge is misconfigured: ${err.message.replace(/\s+/g, ' ')}`);
  }
  if (err instanceof SchemaBehindError) {
    console.error(`edge: ${err.message}`);
    return errorResponse('schema_behind', err.message);
  }
  if (isSchemaMissingError(err)) {
    // Checked good once, yet a table or column is missing: look again on the next request.
    forgetSchemaChecks();
    const what = /no such (?:table|column): [\w.]+|has no column named \w+/i.exec(err.message)?.[0];
    const message = `database schema is older than this edge${what ? ` (${what})` : ''}: run npm run migrate`;
    console.error(`edge: ${c.req.method} ${c.req.path}: ${message}`);
    return errorResponse('schema_behind', message);
  }
  console.error(`edge: ${c.req.method} ${c.req.path} failed: ${err.name}: ${err.message}`);
  return errorResponse('internal_error', 'the server failed to handle this request');
}

/** 404 in the PROTOCOL shape. */
export function notFound(c: Context): Response {
  return errorResponse('not_found', `no route ${c.req.method} ${c.req.path}`);
}
