import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { afterAll, describe, expect, it } from 'vitest';
import { FILE_BUSY_TIMEOUT_MS, libsqlOptions } from '../../shared/db/client-options.js';
import { MIGRATIONS } from '../../shared/db/migrations.js';
import { migrate } from '../../shared/db/migrate.js';
import { assertSchemaCurrent } from '../../shared/db/schema-version.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'netpoke-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED_COLUMNS = {
  survey_sessions: 'session_id magic_key user_login start_time last_update_time pcap_path keylog_path created_at deleted deleted_at deleted_by',
  survey_metrics:
    'id session_id timestamp_ms source conn_id direction delay_p50_ms delay_p99_ms delay_min_ms delay_max_ms jitter_p50_ms jitter_p99_ms jitter_min_ms jitter_max_ms rtt_p50_ms rtt_p99_ms rtt_min_ms rtt_max_ms loss_rate reorder_rate probe_count baseline_delay_ms created_at deleted deleted_at deleted_by',
  recordings:
    'recording_id session_id video_path sensor_path video_size_bytes sensor_size_bytes video_uploaded_bytes sensor_uploaded_bytes upload_status device_info_json user_notes created_at completed_at deleted deleted_at deleted_by',
  magic_keys: 'key key_hash label created_at expires_at revoked_at max_measuring_ms max_concurrent_sessions',
  relays: 'id region public_address internal_url capacity active_sessions last_heartbeat started_at',
};
/** Columns later migrations add after the seed's, in order: the seed's columns stay exactly as they were. */
const ADDED_COLUMNS: Record<string, string> = {
  survey_sessions: ' end_time end_reason measured_ms',
  survey_metrics: ' probes_expected late_count sender_paused_ms loaded throughput_bps loss_tmax_ms row_key window_index lost_count delay_sketch ipdv_sketch rtt_sketch sketch_format family path_index',
  recordings: ' kind mime sha256 chunk_bytes upload_id storage_key magic_key started_at uploaded_by hash_state',
  magic_keys: ' key_id created_by',
  relays: ' state public_addresses',
};
const SEED_INDEXES = [
  'idx_session_magic_key',
  'idx_session_deleted',
  'idx_metrics_session',
  'idx_metrics_deleted',
  'idx_recordings_session',
  'idx_recordings_status',
  'idx_recordings_deleted',
];

describe('migrations', () => {
  it('creates the seed schema exactly plus the new tables, once', async () => {
    const db = createClient({ url: `file:${join(dir, 'one.db')}` });
    expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    for (const [table, cols] of Object.entries(SEED_COLUMNS)) {
      const rs = await db.execute(`PRAGMA table_info(${table})`);
      expect(rs.rows.map((r) => r.name).join(' '), table).toBe(cols + (ADDED_COLUMNS[table] ?? ''));
    }
    const idx = await db.execute("SELECT name FROM sqlite_master WHERE type = 'index'");
    const names = idx.rows.map((r) => String(r.name));
    for (const i of SEED_INDEXES) expect(names).toContain(i);
    expect(await migrate(db)).toEqual([]);
    const versions = await db.execute('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    db.close();
  });

  it('applies each version exactly once when four processes race', async () => {
    const file = join(dir, 'race.db');
    const children = Array.from({ length: 4 }, () =>
      run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/migrate-child.ts'), file]),
    );
    const outputs = (await Promise.all(children)).map((c) => JSON.parse(c.stdout) as number[]);
    const all = outputs.flat().sort((a, b) => a - b);
    expect(all).toEqual(MIGRATIONS.map((m) => m.version));
    const db = createClient({ url: `file:${file}` });
    const rs = await db.execute('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version');
    expect(rs.rows.map((r) => [Number(r.version), Number(r.n)])).toEqual(MIGRATIONS.map((m) => [m.version, 1]));
    db.close();
  });

  // What the four-process race above relies on (it failed once in a CI run when this was missing: SQLITE_BUSY at
  // COMMIT until the retries ran out): a commit waits for another process's reader to finish.
  it("a file database's commit waits for another process's read lock instead of failing", async () => {
    const file = join(dir, 'busy.db');
    const setup = createClient({ url: `file:${file}` });
    await setup.execute('CREATE TABLE t (x INTEGER)');
    setup.close();
    const HOLD_MS = 400;
    const commitBesideReader = async (options: ReturnType<typeof libsqlOptions>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/read-lock-child.ts'), file, String(HOLD_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.once('exit', () => reject(new Error('the reader exited before it held its lock')));
      });
      const db = createClient(options);
      const t0 = performance.now();
      try {
        const tx = await db.transaction('write');
        try {
          await tx.execute('INSERT INTO t VALUES (1)');
          await tx.commit();
          return { ok: true as const, waitedMs: performance.now() - t0 };
        } catch (e) {
          return { ok: false as const, code: String((e as { code?: unknown }).code) };
        } finally {
          tx.close();
        }
      } finally {
        db.close();
        await exited;
      }
    };
    expect(FILE_BUSY_TIMEOUT_MS).toBeGreaterThan(HOLD_MS * 2);
    // Without a busy timeout the COMMIT fails at once with SQLITE_BUSY, and (@libsql/client 0.18, libsql 0.5) this
    // process then cannot write the file again even after rolling back; so only NetPoke's options are tried here.
    const waited = await commitBesideReader(libsqlOptions(`file:${file}`));
    expect(waited.ok).toBe(true);
    expect(waited.ok && waited.waitedMs).toBeGreaterThan(HOLD_MS / 2);
    const check = createClient({ url: `file:${file}` });
    expect((await check.execute('SELECT COUNT(*) AS n FROM t')).rows[0]?.n).toBe(1);
    check.close();
  });

  it('on a current schema, migrating and the version check only read: they finish while another process holds the write lock', async () => {
    const file = join(dir, 'current.db');
    const writer = createClient({ url: `file:${file}` });
    await migrate(writer);
    const lock = await writer.transaction('write');
    try {
      const db = createClient({ url: `file:${file}` });
      const t0 = performance.now();
      expect(await migrate(db)).toEqual([]);
      await assertSchemaCurrent(db, 'relay');
      // A write transaction here would wait on the lock (and the busy retries give up only after seconds).
      expect(performance.now() - t0).toBeLessThan(1_000);
      db.close();
    } finally {
      await lock.rollback();
      writer.close();
    }
  });

  it('rolls a failing migration back whole and applies nothing after it', async () => {
    const db = createClient({ url: `file:${join(dir, 'bad.db')}` });
    const bad = [
      { version: 1, name: 'ok', statements: ['CREATE TABLE a (x INTEGER)'] },
      { version: 2, name: 'broken', statements: ['CREATE TABLE b (x INTEGER)', 'CREATE TABLE oops ('] },
      { version: 3, name: 'later', statements: ['CREATE TABLE c (x INTEGER)'] },
    ];
    await expect(migrate(db, bad)).rejects.toThrow();
    const tables = await db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a','b','c') ORDER BY name");
    expect(tables.rows.map((r) => r.name)).toEqual(['a']);
    db.close();
  });
});
