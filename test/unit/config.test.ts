import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ConfigError, parseConfig } from '../../shared/config.js';

const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  LIBSQL_URL: z.url(),
});

describe('parseConfig', () => {
  it('applies defaults and coercion', () => {
    expect(parseConfig(schema, { LIBSQL_URL: 'http://127.0.0.1:8080' })).toEqual({ PORT: 8080, LIBSQL_URL: 'http://127.0.0.1:8080' });
    expect(parseConfig(schema, { PORT: '9000', LIBSQL_URL: 'libsql://x.turso.io' }).PORT).toBe(9000);
  });

  it('names every bad variable', () => {
    try {
      parseConfig(schema, { PORT: '70000' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toContain('PORT');
      expect((e as Error).message).toContain('LIBSQL_URL');
    }
  });
});
