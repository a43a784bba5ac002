import type { z } from 'zod';
import { describeZodError } from '../shared/protocol/errors.js';
import { HttpError } from './errors.js';
import { concatBytes } from '../shared/bytes.js';

/**
 * An oversized body is read on (never kept) up to this many bytes before the
 * 413 goes out: answering while the client is still sending makes the
 * runtime reset the connection, and the client then never sees the 413.
 * Past this, the edge answers at once and accepts the reset.
 */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/** Whether a Content-Type header names JSON (`application/json`, parameters such as charset allowed). */
export function isJsonContentType(header: string | null): boolean {
  return /^application\/json\s*(;|$)/i.test(header?.trim() ?? '');
}

/**
 * Refuses a request whose body is not declared as JSON with 415
 * `unsupported_media_type`. Browsers send `text/plain` (and form types)
 * cross-site without a CORS preflight; JSON needs one, so this keeps other
 * pages from posting to the API. The body is drained so the client sees the 415.
 */
export async function requireJsonContentType(req: Request): Promise<void> {
  if (isJsonContentType(req.headers.get('content-type'))) return;
  await discardBody(req);
  throw new HttpError('unsupported_media_type', 'body: Content-Type must be application/json');
}

/** Reads and drops a body the edge refuses, up to a bound, so the refusal reaches the client instead of a reset. */
export async function discardBody(req: Request): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > DRAIN_LIMIT_BYTES) await req.body.cancel().catch(() => undefined);
  else await drain(req.body.getReader(), DRAIN_LIMIT_BYTES);
}

/**
 * Reads a JSON body of at most `maxBytes` and validates it with `schema`:
 * 415 `unsupported_media_type` unless it is declared as JSON, 413 `too_large` past the limit (declared or streamed; nothing past the
 * limit is kept in memory), 400 `invalid_request` for bad JSON or a failing
 * field, named.
 */
export async function readJsonBody<S extends z.ZodType>(req: Request, schema: S, maxBytes: number): Promise<z.infer<S>> {
  await requireJsonContentType(req);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    if (declared <= DRAIN_LIMIT_BYTES) await drain(req.body?.getReader(), DRAIN_LIMIT_BYTES);
    else await req.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  const bytes = await readCapped(req, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new HttpError('invalid_request', 'body: expected a JSON object (the body is not valid UTF-8 JSON)');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError('invalid_request', describeZodError(parsed.error));
  return parsed.data;
}

/** Reads a body of at most `maxBytes` (413 `too_large` past it, nothing past the limit kept). */
export async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await drain(reader, DRAIN_LIMIT_BYTES - total);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/** Reads and drops up to `budget` more bytes; cancels the stream if there are more. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array> | undefined, budget: number): Promise<void> {
  if (!reader) return;
  try {
    while (budget > 0) {
      const { done, value } = await reader.read();
      if (done) return;
      budget -= value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to read.
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError('too_large', `body: larger than ${maxBytes} bytes`);
}
