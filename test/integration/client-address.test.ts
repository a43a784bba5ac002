// Which client address the edge counts failed attempts against: CF-Connecting-IP only where Cloudflare sets it
// (a deployment, or TRUST_CLIENT_ADDRESS_HEADER=true); a local edge counts everyone in one bucket, whatever the
// header says, so a caller cannot dodge its limits by sending a fresh address with each request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

const FAILURE_LIMIT = 3;

let db: TestDb;
let local: TestEdge;
let trusting: TestEdge;

beforeAll(async () => {
  db = await startTestDb();
  local = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { KEY_FAILURE_LIMIT: String(FAILURE_LIMIT) } });
  trusting = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { KEY_FAILURE_LIMIT: String(FAILURE_LIMIT), TRUST_CLIENT_ADDRESS_HEADER: 'true' } });
}, 60_000);

afterAll(async () => {
  await local?.close();
  await trusting?.close();
  await db?.close();
});

/** A guessed key from the address a header claims; answers the error code. */
async function guess(edge: TestEdge, address: string): Promise<string> {
  const resp = await fetch(`${edge.url}/api/ice-servers?key=np_guess`, { headers: { 'cf-connecting-ip': address } });
  return ((await resp.json()) as { error: { code: string } }).error.code;
}

describe('the client address of a rate limit', () => {
  it('a local edge ignores CF-Connecting-IP: guesses claiming fresh addresses share one bucket', async () => {
    const codes = [];
    for (let i = 0; i <= FAILURE_LIMIT; i++) codes.push(await guess(local, `203.0.113.${i + 1}`));
    expect(codes).toEqual([...Array<string>(FAILURE_LIMIT).fill('key_invalid'), 'rate_limited']);
    const rows = await db.db.execute('SELECT address, count FROM key_failures');
    expect(rows.rows.map((r) => [String(r.address), Number(r.count)])).toEqual([['local', FAILURE_LIMIT + 1]]);
  });

  it('with TRUST_CLIENT_ADDRESS_HEADER=true each address has its own bucket', async () => {
    await db.db.execute('DELETE FROM key_failures');
    const codes = [];
    for (let i = 0; i <= FAILURE_LIMIT; i++) codes.push(await guess(trusting, `198.51.100.${i + 1}`));
    expect(codes).toEqual(Array<string>(FAILURE_LIMIT + 1).fill('key_invalid'));
  });
});
