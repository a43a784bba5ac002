// The limits a new magic key gets when its creator names none: one rule for the console API and `npm run keys`.
import * as z from 'zod';

/** Concurrent sessions a new key allows unless its creator says otherwise (issue 18: one key holder must not fill every relay). */
export const DEFAULT_MAX_CONCURRENT_SESSIONS = 4;

/** `KEY_DEFAULT_MAX_CONCURRENT_SESSIONS`: a whole number, 0 for no default limit (null); unset or empty: 4. */
export const KeyDefaultSessionsSchema = z
  .preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(10_000).default(DEFAULT_MAX_CONCURRENT_SESSIONS))
  .transform((n) => (n === 0 ? null : n));
