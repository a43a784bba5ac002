// The role table as tests: each route's status for each of the five principals (issue 10's table, reused by the console's routes).
import { expect, it } from 'vitest';
import { asPrincipal, PRINCIPALS, type PrincipalName, type Principals, type RoleRow } from './principals.js';

const REFUSAL_CODE: Record<number, string> = { 401: 'auth_required', 403: 'forbidden', 404: 'not_found' };

/**
 * Registers one test per row: every principal gets exactly the row's status, and every refusal is in the
 * PROTOCOL shape with the code of its status. `inspect` may read a successful answer (true: it used the body).
 */
export function roleTable(rows: readonly RoleRow[], ctx: () => { url: string; p: Principals }, inspect?: (row: RoleRow, who: PrincipalName, resp: Response) => Promise<boolean>): void {
  for (const row of rows) {
    it(row.name, async () => {
      const { url, p } = ctx();
      const got: Record<string, number> = {};
      for (const who of PRINCIPALS) {
        const resp = await row.request(asPrincipal(url, p, who), who);
        got[who] = resp.status;
        if (resp.status >= 400) {
          const body = (await resp.json()) as { error?: { code?: string; message?: string } };
          expect(body.error?.code, `${row.name} as ${who}`).toBe(REFUSAL_CODE[resp.status]);
          expect(body.error?.message).toMatch(/\w/);
        } else if (!(await inspect?.(row, who, resp))) {
          await resp.body?.cancel();
        }
      }
      expect(got).toEqual(row.expect);
    });
  }
}
