/** One schema step: applied once, in order, recorded in `schema_migrations`. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * NetPoke's survey schema (seed migration 001, kept exactly: conformance
 * tests and analysts query these tables), then what the edge/relay split adds.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'survey_upload_schema',
    statements: [
      `CREATE TABLE IF NOT EXISTS survey_sessions (
  session_id TEXT PRIMARY KEY,
  magic_key TEXT NOT NULL,
  user_login TEXT,
  start_time INTEGER NOT NULL,
  last_update_time INTEGER NOT NULL,
  pcap_path TEXT,
  keylog_path TEXT,
  created_at INTEGER NOT NULL,
  deleted INTEGER DEFAULT 0,
  deleted_at INTEGER,
  deleted_by TEXT
)`,
      `CREATE INDEX IF NOT EXISTS idx_session_magic_key ON survey_sessions(magic_key, start_time)`,
      `CREATE INDEX IF NOT EXISTS idx_session_deleted ON survey_sessions(deleted)`,
      `CREATE TABLE IF NOT EXISTS survey_metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  source TEXT NOT NULL,
  conn_id TEXT,
  direction TEXT,
  delay_p50_ms REAL,
  delay_p99_ms REAL,
  delay_min_ms REAL,
  delay_max_ms REAL,
  jitter_p50_ms REAL,
  jitter_p99_ms REAL,
  jitter_min_ms REAL,
  jitter_max_ms REAL,
  rtt_p50_ms REAL,
  rtt_p99_ms REAL,
  rtt_min_ms REAL,
  rtt_max_ms REAL,
  loss_rate REAL,
  reorder_rate REAL,
  probe_count INTEGER,
  baseline_delay_ms REAL,
  created_at INTEGER NOT NULL,
  deleted INTEGER DEFAULT 0,
  deleted_at INTEGER,
  deleted_by TEXT,
  FOREIGN KEY(session_id) REFERENCES survey_sessions(session_id)
)`,
      `CREATE INDEX IF NOT EXISTS idx_metrics_session ON survey_metrics(session_id, timestamp_ms)`,
      `CREATE INDEX IF NOT EXISTS idx_metrics_deleted ON survey_metrics(deleted)`,
      `CREATE TABLE IF NOT EXISTS recordings (
  recording_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  video_path TEXT NOT NULL,
  sensor_path TEXT NOT NULL,
  video_size_bytes INTEGER NOT NULL,
  sensor_size_bytes INTEGER NOT NULL,
  video_uploaded_bytes INTEGER DEFAULT 0,
  sensor_uploaded_bytes INTEGER DEFAULT 0,
  upload_status TEXT DEFAULT 'pending',
  device_info_json TEXT,
  user_notes TEXT,
  created_at INTEGER NOT NULL,
  completed_at INTEGER,
  deleted INTEGER DEFAULT 0,
  deleted_at INTEGER,
  deleted_by TEXT,
  FOREIGN KEY(session_id) REFERENCES survey_sessions(session_id)
)`,
      `CREATE INDEX IF NOT EXISTS idx_recordings_session ON recordings(session_id)`,
      `CREATE INDEX IF NOT EXISTS idx_recordings_status ON recordings(upload_status)`,
      `CREATE INDEX IF NOT EXISTS idx_recordings_deleted ON recordings(deleted)`,
    ],
  },
  {
    version: 2,
    name: 'magic_keys_relays_peers',
    statements: [
      // key_hash is what lookups use, so the time a lookup takes says nothing about the key's text.
      `CREATE TABLE IF NOT EXISTS magic_keys (
  key TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  max_measuring_ms INTEGER,
  max_concurrent_sessions INTEGER
)`,
      `CREATE TABLE IF NOT EXISTS relays (
  id TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  public_address TEXT NOT NULL,
  internal_url TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  active_sessions INTEGER NOT NULL DEFAULT 0,
  last_heartbeat INTEGER NOT NULL,
  started_at INTEGER NOT NULL
)`,
      `CREATE INDEX IF NOT EXISTS idx_relays_heartbeat ON relays(last_heartbeat)`,
      // One row per WebRTC peer a relay holds: the edge counts a key's open ones for its concurrency limit.
      `CREATE TABLE IF NOT EXISTS relay_peers (
  peer_id TEXT PRIMARY KEY,
  relay_id TEXT NOT NULL,
  magic_key TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  closed_at INTEGER
)`,
      `CREATE INDEX IF NOT EXISTS idx_relay_peers_key_open ON relay_peers(magic_key, closed_at)`,
      `CREATE INDEX IF NOT EXISTS idx_relay_peers_relay_open ON relay_peers(relay_id, closed_at)`,
    ],
  },
  {
    version: 3,
    name: 'key_failures',
    statements: [
      // The edge is stateless, so its per-address count of failed magic-key attempts lives here:
      // one row per address, its window starting at the first failure (see edge/rate-limit.ts).
      `CREATE TABLE IF NOT EXISTS key_failures (
  address TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
)`,
      `CREATE INDEX IF NOT EXISTS idx_key_failures_window ON key_failures(window_start)`,
    ],
  },
  {
    version: 4,
    name: 'metric_counts_and_row_key',
    statements: [
      // The counts every longer window is aggregated from (PROTOCOL.md §2), whether the second was under load,
      // and its bulk goodput; row_key makes a retried write land once.
      `ALTER TABLE survey_metrics ADD COLUMN probes_expected INTEGER`,
      `ALTER TABLE survey_metrics ADD COLUMN late_count INTEGER`,
      `ALTER TABLE survey_metrics ADD COLUMN sender_paused_ms REAL`,
      `ALTER TABLE survey_metrics ADD COLUMN loaded INTEGER`,
      `ALTER TABLE survey_metrics ADD COLUMN throughput_bps REAL`,
      `ALTER TABLE survey_metrics ADD COLUMN loss_tmax_ms REAL`,
      `ALTER TABLE survey_metrics ADD COLUMN row_key TEXT`,
      `CREATE UNIQUE INDEX IF NOT EXISTS idx_metrics_row_key ON survey_metrics(row_key)`,
    ],
  },
  {
    version: 5,
    name: 'survey_end',
    statements: [
      // How a survey ended: 'stopped' (explicit), 'closed' (the client went away), 'relay_restart', 'time_limit', ...
      `ALTER TABLE survey_sessions ADD COLUMN end_time INTEGER`,
      `ALTER TABLE survey_sessions ADD COLUMN end_reason TEXT`,
    ],
  },
  {
    version: 6,
    name: 'relay_peer_survey',
    statements: [
      // The survey a peer carries: a relay that died and restarts ends the surveys of the peers it left open.
      `ALTER TABLE relay_peers ADD COLUMN survey_session_id TEXT`,
    ],
  },
  {
    version: 7,
    name: 'survey_captures',
    statements: [
      // Every connection's capture file of a survey (survey_sessions.pcap_path keeps only the first).
      `CREATE TABLE IF NOT EXISTS survey_captures (
  session_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  records INTEGER NOT NULL,
  dropped INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, conn_id, peer_id)
)`,
    ],
  },
  {
    version: 8,
    name: 'survey_measured_ms',
    statements: [
      // Measuring time a survey has used over all its connections and reconnects: the key's limit is per survey, not per connection.
      `ALTER TABLE survey_sessions ADD COLUMN measured_ms INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 9,
    name: 'accounts',
    statements: [
      // A key_id names a key in URLs and logs without revealing it: the first 16 hex digits of its SHA-256.
      `ALTER TABLE magic_keys ADD COLUMN key_id TEXT`,
      `UPDATE magic_keys SET key_id = substr(key_hash, 1, 16) WHERE key_id IS NULL`,
      `CREATE UNIQUE INDEX IF NOT EXISTS idx_magic_keys_key_id ON magic_keys(key_id)`,
      // The login that created a key (NULL: the CLI or local mode); an analyst may revoke the keys they created.
      `ALTER TABLE magic_keys ADD COLUMN created_by TEXT`,
      `CREATE TABLE IF NOT EXISTS users (
  login TEXT PRIMARY KEY COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
  password_hash TEXT,
  email TEXT COLLATE NOCASE,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL,
  password_changed_at INTEGER,
  disabled_at INTEGER,
  last_login_at INTEGER
)`,
      `CREATE INDEX IF NOT EXISTS idx_users_email ON users(email)`,
      `CREATE TABLE IF NOT EXISTS key_grants (
  login TEXT NOT NULL COLLATE NOCASE,
  key_id TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  granted_by TEXT,
  PRIMARY KEY (login, key_id)
)`,
      `CREATE INDEX IF NOT EXISTS idx_key_grants_key ON key_grants(key_id)`,
      // An OpenID identity (issuer + subject) bound to a login at its first sign-in.
      `CREATE TABLE IF NOT EXISTS user_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  login TEXT NOT NULL COLLATE NOCASE,
  email TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, subject)
)`,
      // Server-side login sessions; the cookie holds a random token, the row only its hash.
      `CREATE TABLE IF NOT EXISTS auth_sessions (
  token_hash TEXT PRIMARY KEY,
  login TEXT NOT NULL COLLATE NOCASE,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  method TEXT NOT NULL,
  user_agent TEXT
)`,
      `CREATE INDEX IF NOT EXISTS idx_auth_sessions_login ON auth_sessions(login)`,
      // Failed logins per bucket ('login:<name>' or 'addr:<address>'), same windowing as key_failures.
      `CREATE TABLE IF NOT EXISTS login_failures (
  bucket TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
)`,
      // An OpenID sign-in under way: single use, so a replayed or forged state finds nothing.
      `CREATE TABLE IF NOT EXISTS oidc_flows (
  state_hash TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  nonce TEXT NOT NULL,
  return_to TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
)`,
    ],
  },
  {
    version: 10,
    name: 'survey_console_indexes',
    statements: [
      // The survey list pages newest first by (start_time, session_id) with a keyset cursor: each filter has an index
      // in that order, so a page is a short index walk from the cursor at any depth (PROTOCOL.md §4 GET /api/surveys).
      `CREATE INDEX IF NOT EXISTS idx_sessions_start ON survey_sessions(start_time, session_id)`,
      `CREATE INDEX IF NOT EXISTS idx_sessions_key_start ON survey_sessions(magic_key, start_time, session_id)`,
      `CREATE INDEX IF NOT EXISTS idx_sessions_user_start ON survey_sessions(user_login, start_time, session_id)`,
      // Deleted surveys are few: a partial index keeps `deleted=true` lists from walking every survey.
      `CREATE INDEX IF NOT EXISTS idx_sessions_deleted_start ON survey_sessions(start_time, session_id) WHERE deleted <> 0`,
      // Rows and distinct connections of a survey, counted from the index alone.
      `CREATE INDEX IF NOT EXISTS idx_metrics_session_conn ON survey_metrics(session_id, conn_id)`,
    ],
  },
  {
    version: 11,
    name: 'audit_log',
    statements: [
      // Who deleted, restored or purged what, and when; a purge leaves nothing else behind to say it happened.
      // (Export pages need no new index: survey ids page on the primary key, rows on idx_metrics_session.)
      `CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT
)`,
      `CREATE INDEX IF NOT EXISTS idx_audit_log_at ON audit_log(at)`,
      `CREATE INDEX IF NOT EXISTS idx_audit_log_subject ON audit_log(subject, at)`,
    ],
  },
  {
    version: 12,
    name: 'object_storage',
    statements: [
      // One recording row per file (the seed's video_/sensor_ pairs get this file on its kind's side); where it is in R2 and how it is uploaded.
      `ALTER TABLE recordings ADD COLUMN kind TEXT`,
      `ALTER TABLE recordings ADD COLUMN mime TEXT`,
      `ALTER TABLE recordings ADD COLUMN sha256 TEXT`,
      `ALTER TABLE recordings ADD COLUMN chunk_bytes INTEGER`,
      `ALTER TABLE recordings ADD COLUMN upload_id TEXT`,
      `ALTER TABLE recordings ADD COLUMN storage_key TEXT`,
      // The survey's key when the recording was announced: the storage quota is per key.
      `ALTER TABLE recordings ADD COLUMN magic_key TEXT`,
      `ALTER TABLE recordings ADD COLUMN started_at REAL`,
      `ALTER TABLE recordings ADD COLUMN uploaded_by TEXT`,
      `CREATE INDEX IF NOT EXISTS idx_recordings_key ON recordings(magic_key)`,
      `CREATE TABLE IF NOT EXISTS recording_chunks (
  recording_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  etag TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (recording_id, idx)
)`,
      // A capture once the object store holds it (the relay then drops its local copy).
      `ALTER TABLE survey_captures ADD COLUMN storage_key TEXT`,
      `ALTER TABLE survey_captures ADD COLUMN sha256 TEXT`,
      `ALTER TABLE survey_captures ADD COLUMN stored_at INTEGER`,
    ],
  },
  {
    version: 15,
    name: 'oidc_link_flows',
    statements: [
      // A sign-in started by a logged-in person to link it to their own login (the Account page), not to sign in:
      // the callback binds the identity to this login only while the same person is still logged in.
      `ALTER TABLE oidc_flows ADD COLUMN link_login TEXT`,
    ],
  },
  {
    version: 18,
    name: 'relay_state_and_health',
    statements: [
      // 'ready' or 'draining' (PROTOCOL v3): a draining relay keeps its surveys and takes no new peer.
      `ALTER TABLE relays ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'`,
      // When the peer's channels opened (NULL: not yet, or never): answered peers that stay unopened mark a relay whose UDP port nobody reaches.
      `ALTER TABLE relay_peers ADD COLUMN opened_at INTEGER`,
      // What edges learnt of a relay (they are stateless, so it lives here): failed create-peer calls and
      // connections that never opened, the current streak, and until when edges skip it (a circuit breaker).
      `CREATE TABLE IF NOT EXISTS relay_health (
  relay_id TEXT PRIMARY KEY,
  failures INTEGER NOT NULL DEFAULT 0,
  never_opened INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  probe_until INTEGER NOT NULL DEFAULT 0,
  last_failure_at INTEGER,
  last_error TEXT,
  last_success_at INTEGER
)`,
    ],
  },
  {
    version: 19,
    name: 'relay_public_addresses',
    statements: [
      // Every address a relay's UDP port is reached at, with its family: JSON [{"address", "family": "ipv4"|"ipv6"}].
      // public_address keeps the first as `address:port`; NULL here (a relay started before) means that one only.
      `ALTER TABLE relays ADD COLUMN public_addresses TEXT`,
    ],
  },
  {
    version: 20,
    name: 'recording_multipart',
    statements: [
      // A recording is an R2 multipart upload from its first chunk (upload_id): chunks arrive in order and the
      // whole file's SHA-256 runs along with them, its state (words, unfinished block, length) kept here.
      `ALTER TABLE recordings ADD COLUMN hash_state TEXT`,
      // On the chunk that closed a part: that part's etag, which completing the upload names.
      `ALTER TABLE recording_chunks ADD COLUMN part_etag TEXT`,
      // Uploads under way started before this had no hash state: they start again from chunk 0. Their chunks are
      // sent again under the same object keys, which the new parts then replace and remove.
      `DELETE FROM recording_chunks WHERE recording_id IN (SELECT recording_id FROM recordings WHERE upload_status = 'pending')`,
      `UPDATE recordings SET video_uploaded_bytes = 0, sensor_uploaded_bytes = 0 WHERE upload_status = 'pending'`,
    ],
  },
  {
    version: 21,
    name: 'survey_path_traces',
    statements: [
      // One row per path trace of a connection (PROTOCOL v3 puts path_mtu "per connection" on survey_sessions, which has
      // one row per survey, not per connection: the MTU is kept here, per trace and connection, with its time).
      `CREATE TABLE IF NOT EXISTS survey_path_traces (
  trace_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  relay_id TEXT,
  at_ms REAL NOT NULL,
  target TEXT,
  available INTEGER NOT NULL,
  reason TEXT,
  path_mtu INTEGER,
  mtu_hop INTEGER,
  mtu_hop_address TEXT
)`,
      `CREATE INDEX IF NOT EXISTS idx_path_traces_session ON survey_path_traces(session_id, at_ms)`,
      // One row per hop per trace (PROTOCOL v3 survey_path_hops).
      `CREATE TABLE IF NOT EXISTS survey_path_hops (
  trace_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  at_ms REAL NOT NULL,
  ttl INTEGER NOT NULL,
  address TEXT,
  name TEXT,
  rtt_p50_ms REAL,
  rtt_max_ms REAL,
  loss_rate REAL NOT NULL,
  probes INTEGER NOT NULL,
  PRIMARY KEY (trace_id, ttl)
)`,
      `CREATE INDEX IF NOT EXISTS idx_path_hops_session ON survey_path_hops(session_id)`,
    ],
  },
  {
    version: 22,
    name: 'export_jobs',
    statements: [
      // Exports too large for one request, written to the object store by the EXPORT_QUEUE consumer one part per
      // message; the row is the job's whole state, so each message continues from it (cursor, parts uploaded so far).
      `CREATE TABLE IF NOT EXISTS export_jobs (
  id TEXT PRIMARY KEY,
  requested_by TEXT NOT NULL,
  filter TEXT NOT NULL,
  format TEXT NOT NULL,
  status TEXT NOT NULL,
  rows_done INTEGER NOT NULL DEFAULT 0,
  total_rows INTEGER,
  bytes INTEGER NOT NULL DEFAULT 0,
  parts TEXT NOT NULL DEFAULT '[]',
  upload_id TEXT,
  cursor TEXT,
  storage_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT
)`,
      `CREATE INDEX IF NOT EXISTS idx_export_jobs_requested_by ON export_jobs(requested_by, created_at)`,
    ],
  },
  {
    version: 24,
    name: 'metric_window_index_and_lost_count',
    statements: [
      // PROTOCOL §2 v3: which window of its connection a row is on the side that measured it (rows are placed and
      // paired by it, never by timestamp), and the seqs that window settled as lost.
      `ALTER TABLE survey_metrics ADD COLUMN window_index INTEGER`,
      `ALTER TABLE survey_metrics ADD COLUMN lost_count INTEGER`,
    ],
  },
  {
    version: 25,
    name: 'metric_sketches',
    statements: [
      // Each second's mergeable sketches of its delay deviation, |IPDV| and RTT samples (PROTOCOL.md §2 v3
      // `sketches`, base64 as sent) and their format, so any longer window's p50/p99 can be merged; NULL in rows
      // written before (their windows' percentiles are the per-second approximation, and say so).
      `ALTER TABLE survey_metrics ADD COLUMN delay_sketch TEXT`,
      `ALTER TABLE survey_metrics ADD COLUMN ipdv_sketch TEXT`,
      `ALTER TABLE survey_metrics ADD COLUMN rtt_sketch TEXT`,
      `ALTER TABLE survey_metrics ADD COLUMN sketch_format TEXT`,
    ],
  },
  {
    version: 26,
    name: 'connection_family_and_path',
    statements: [
      // PROTOCOL §2 v3: the address family and the path (0-based within the family) of the connection a row is of,
      // fixed at set-up; NULL on rows of connections that named neither (older clients).
      `ALTER TABLE survey_metrics ADD COLUMN family TEXT`,
      `ALTER TABLE survey_metrics ADD COLUMN path_index INTEGER`,
      // One row per connection of a survey: its family and path, and the address pair its ICE ended on (the relay's
      // selected candidate pair), the client's address cut to its /24 (IPv4) or /48 (IPv6) prefix for privacy.
      `CREATE TABLE IF NOT EXISTS survey_connections (
  session_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  family TEXT,
  path_index INTEGER,
  client_prefix TEXT,
  client_port INTEGER,
  relay_address TEXT,
  relay_port INTEGER,
  candidate_type TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, conn_id)
)`,
    ],
  },
];
