/**
 * Local/dev only: serves one libSQL database file over libSQL's HTTP protocol
 * (Hrana over HTTP, JSON `POST /v2/pipeline`), so the edge in workerd — which
 * cannot open files — and the relay share the database that a deployment
 * would keep in Turso. It is deliberately narrow: loopback only by default,
 * one process, one file, no replication, no protobuf, no cursors (clients
 * fall back to v2 when `GET /v3-protobuf` answers 404). Never expose it.
 *
 * Any web page its user visits can send it requests (a cross-origin
 * `text/plain` POST needs no preflight; DNS rebinding gives a page a
 * same-origin name for loopback), so every request must carry the bearer
 * token, requests from pages (an `Origin` header) and for names other than
 * loopback (the `Host` header) are refused, and SQL that reaches other
 * files (ATTACH, VACUUM INTO) is never run.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import Database from 'libsql';
import { randomToken } from '../shared/ids.js';
import { isLoopbackHost } from '../shared/loopback-host.js';
import {
  decodeValue,
  encodeValue,
  HranaRequestError,
  parsePipelineBody,
  type BatchCond,
  type HranaStmt,
  type StreamRequest,
} from './hrana-wire.js';
import { refusedSql } from './sql-guard.js';

type Conn = InstanceType<typeof Database>;

export interface HranaServerOptions {
  dbPath: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Every request must carry `Authorization: Bearer <authToken>`. */
  authToken: string;
  allowNonLoopback?: boolean;
  /** A stream idle this long is rolled back and closed. */
  streamIdleMs?: number;
  /** How long a request waits for another stream's open transaction before SQLITE_BUSY. */
  lockWaitMs?: number;
}

export interface HranaServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Stream {
  conn: Conn;
  sqls: Map<number, string>;
  idle: ReturnType<typeof setTimeout> | undefined;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Whether an address is on the loopback interface (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  if (a === 'localhost') return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** Whether `header` is `Bearer <token>`, compared in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}

/** Starts the local libSQL HTTP server on `host:port` for `dbPath`. */
export async function startHranaServer(opts: HranaServerOptions): Promise<HranaServer> {
  if (!opts.authToken) throw new Error('the local database server needs an auth token');
  const host = opts.host ?? '127.0.0.1';
  if (!opts.allowNonLoopback && !isLoopback(host)) {
    throw new Error(`refusing to serve the database on ${host}: the local libSQL server is for loopback only`);
  }
  const streamIdleMs = opts.streamIdleMs ?? 15_000;
  const lockWaitMs = opts.lockWaitMs ?? 5_000;
  mkdirSync(dirname(opts.dbPath), { recursive: true, mode: 0o700 });
  ownerOnlyDbFiles(opts.dbPath);

  const idleConns: Conn[] = [];
  const streams = new Map<string, Stream>();
  // The stream whose connection is inside a transaction: libsql is synchronous,
  // so others must wait asynchronously instead of spinning on SQLITE_BUSY.
  let owner: Stream | null = null;
  let waiters: (() => void)[] = [];

  const openConn = (): Conn => {
    const conn = idleConns.pop() ?? new Database(opts.dbPath);
    conn.exec('PRAGMA journal_mode=WAL');
    // WAL with NORMAL sync cannot corrupt the file; a power cut may lose the last commits, fine for local use.
    conn.exec('PRAGMA synchronous=NORMAL');
    conn.exec('PRAGMA busy_timeout=0');
    return conn;
  };

  const release = (s: Stream) => {
    if (owner === s) {
      owner = null;
      const w = waiters;
      waiters = [];
      for (const wake of w) wake();
    }
  };

  const closeStream = (baton: string | null, s: Stream) => {
    if (baton) streams.delete(baton);
    if (s.idle) clearTimeout(s.idle);
    if (s.conn.inTransaction) {
      try {
        s.conn.exec('ROLLBACK');
      } catch {
        // The connection is dropped below either way.
      }
    }
    release(s);
    if (s.conn.inTransaction) s.conn.close();
    else idleConns.push(s.conn);
  };

  const waitForLock = async (s: Stream | null): Promise<void> => {
    const deadline = Date.now() + lockWaitMs;
    while (owner && owner !== s) {
      const left = deadline - Date.now();
      if (left <= 0) throw new HranaRequestError('database is locked by another open transaction', 'SQLITE_BUSY', 200);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };

  const handlePipeline = async (body: unknown): Promise<object> => {
    const { baton, requests } = parsePipelineBody(body);
    let stream: Stream | null = null;
    if (baton != null) {
      stream = streams.get(baton) ?? null;
      if (!stream) throw new HranaRequestError('unknown or expired baton', 'STREAM_EXPIRED', 400);
      streams.delete(baton);
      if (stream.idle) clearTimeout(stream.idle);
    }
    await waitForLock(stream);
    const s: Stream = stream ?? { conn: openConn(), sqls: new Map(), idle: undefined };
    const results: object[] = [];
    let closed = false;
    for (const req of requests) {
      if (closed) {
        results.push({ type: 'error', error: { message: 'stream is closed', code: 'STREAM_CLOSED' } });
        continue;
      }
      if (req.type === 'close') {
        closeStream(null, s);
        closed = true;
        results.push({ type: 'ok', response: { type: 'close' } });
        continue;
      }
      try {
        results.push({ type: 'ok', response: runRequest(s, req) });
      } catch (e) {
        results.push({ type: 'error', error: toHranaError(e) });
      }
    }
    if (closed) return { baton: null, base_url: null, results };
    if (s.conn.inTransaction) owner = s;
    else release(s);
    const next = randomToken(24);
    streams.set(next, s);
    s.idle = setTimeout(() => closeStream(next, s), streamIdleMs);
    s.idle.unref?.();
    return { baton: next, base_url: null, results };
  };

  const server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      const err = e instanceof HranaRequestError ? e : new HranaRequestError(String((e as Error)?.message ?? e), 'INTERNAL', 500);
      sendJson(res, err.status, { message: err.message, code: err.code });
    });
  });

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    if (!opts.allowNonLoopback && !isLoopback(req.socket.remoteAddress)) {
      return sendJson(res, 403, { message: 'only loopback clients may use the local database server', code: 'FORBIDDEN' });
    }
    if (!opts.allowNonLoopback && !isLoopbackHost(req.headers.host)) {
      return sendJson(res, 403, { message: 'the Host header must name loopback (127.0.0.1, localhost or [::1])', code: 'FORBIDDEN' });
    }
    if (req.headers.origin !== undefined) {
      return sendJson(res, 403, { message: 'requests from web pages (with an Origin header) are refused', code: 'FORBIDDEN' });
    }
    if (!bearerMatches(req.headers.authorization, opts.authToken)) {
      return sendJson(res, 401, { message: 'missing or wrong bearer token', code: 'UNAUTHORIZED' });
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/' || path === '/v2' || path === '/health')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method === 'POST' && (path === '/v2/pipeline' || path === '/v3/pipeline')) {
      const text = await readBody(req);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new HranaRequestError('request body is not JSON', 'PROTOCOL', 400);
      }
      return sendJson(res, 200, await handlePipeline(json));
    }
    sendJson(res, 404, { message: `no route for ${req.method} ${path}` });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const [baton, s] of [...streams]) closeStream(baton, s);
      for (const c of idleConns.splice(0)) c.close();
    },
  };
}

function runRequest(s: Stream, req: Exclude<StreamRequest, { type: 'close' }>): object {
  switch (req.type) {
    case 'execute':
      return { type: 'execute', result: execute(s, req.stmt) };
    case 'batch':
      return { type: 'batch', result: runBatch(s, req.batch.steps) };
    case 'sequence':
      s.conn.exec(sqlOf(s, req.sql, req.sql_id));
      return { type: 'sequence' };
    case 'describe': {
      const sql = sqlOf(s, req.sql, req.sql_id);
      const stmt = s.conn.prepare(sql);
      return {
        type: 'describe',
        result: {
          params: [],
          cols: stmt.reader ? stmt.columns().map((c) => ({ name: c.name, decltype: c.type })) : [],
          is_explain: /^\s*explain\b/i.test(sql),
          is_readonly: stmt.readonly,
        },
      };
    }
    case 'store_sql':
      s.sqls.set(req.sql_id, req.sql);
      return { type: 'store_sql' };
    case 'close_sql':
      s.sqls.delete(req.sql_id);
      return { type: 'close_sql' };
    case 'get_autocommit':
      return { type: 'get_autocommit', is_autocommit: !s.conn.inTransaction };
  }
}

/** The SQL a request runs (its own text or a stored one), refused as SQLITE_AUTH when it would reach other files. */
function sqlOf(s: Stream, sql: string | undefined, sqlId: number | undefined): string {
  const text = sql ?? (sqlId == null ? undefined : s.sqls.get(sqlId));
  if (text == null) throw new HranaRequestError(`unknown sql_id ${sqlId}`, 'SQL_NOT_FOUND', 200);
  const refused = refusedSql(text);
  if (refused) throw new HranaRequestError(refused, 'SQLITE_AUTH', 200);
  return text;
}

function execute(s: Stream, stmt: HranaStmt): object {
  const conn = s.conn;
  const prepared = conn.prepare(sqlOf(s, stmt.sql, stmt.sql_id));
  const params = bindParams(stmt);
  const changesBefore = totalChanges(conn);
  if (prepared.reader) {
    prepared.raw(true).safeIntegers(true);
    const rows = prepared.all(...params) as unknown[][];
    return {
      cols: prepared.columns().map((c) => ({ name: c.name, decltype: c.type })),
      rows: stmt.want_rows === false ? [] : rows.map((r) => r.map(encodeValue)),
      affected_row_count: totalChanges(conn) - changesBefore,
      last_insert_rowid: String(scalar(conn, 'SELECT last_insert_rowid()')),
    };
  }
  const r = prepared.run(...params);
  return { cols: [], rows: [], affected_row_count: r.changes, last_insert_rowid: String(r.lastInsertRowid) };
}

function bindParams(stmt: HranaStmt): unknown[] {
  const positional = (stmt.args ?? []).map(decodeValue);
  const named = stmt.named_args ?? [];
  if (named.length === 0) return positional;
  const obj: Record<string, unknown> = {};
  for (const a of named) obj[a.name.replace(/^[:@$]/, '')] = decodeValue(a.value);
  return positional.length ? [...positional, obj] : [obj];
}

function totalChanges(conn: Conn): number {
  return Number(scalar(conn, 'SELECT total_changes()'));
}

function scalar(conn: Conn, sql: string): unknown {
  return (conn.prepare(sql).raw(true).safeIntegers(true).get() as unknown[])[0];
}

function runBatch(s: Stream, steps: { condition?: BatchCond | null; stmt: HranaStmt }[]): object {
  const results: (object | null)[] = [];
  const errors: (object | null)[] = [];
  const holds = (c: BatchCond): boolean => {
    switch (c.type) {
      case 'ok':
        return results[c.step] != null;
      case 'error':
        return errors[c.step] != null;
      case 'not':
        return !holds(c.cond);
      case 'and':
        return c.conds.every(holds);
      case 'or':
        return c.conds.some(holds);
      case 'is_autocommit':
        return !s.conn.inTransaction;
    }
  };
  for (const step of steps) {
    if (step.condition && !holds(step.condition)) {
      results.push(null);
      errors.push(null);
      continue;
    }
    try {
      results.push(execute(s, step.stmt));
      errors.push(null);
    } catch (e) {
      results.push(null);
      errors.push(toHranaError(e));
    }
  }
  return { step_results: results, step_errors: errors };
}

function toHranaError(e: unknown): { message: string; code: string } {
  const err = e as { message?: unknown; code?: unknown };
  return { message: String(err?.message ?? e), code: typeof err?.code === 'string' ? err.code : 'SQLITE_ERROR' };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HranaRequestError('request body too large', 'PROTOCOL', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Makes the database file owner-only (created so if missing), and its WAL and
 * shared-memory files if present: SQLite creates those with the database
 * file's mode, so they stay owner-only whatever the umask.
 */
function ownerOnlyDbFiles(dbPath: string): void {
  closeSync(openSync(dbPath, 'a', 0o600));
  for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}
