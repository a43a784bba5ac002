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

/**
 * Reads a JSON body of at most `maxBytes` and validates it with `schema`:
 * 413 `too_large` past the limit (declared or streamed; nothing past the
 * limit is kept in memory), 400 `invalid_request` for bad JSON or a failing
 * field, named.
 */
export async function readJsonBody<S extends z.ZodType>(req: Request, schema: S, maxBytes: number): Promise<z.infer<S>> {
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

async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
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
