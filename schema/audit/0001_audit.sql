-- The audit log (SPEC 7), in its own file: one row per public request and per sharectl change.
-- Raw tokens, Authorization / X-API-Key values and cookies are never written here.
--
-- Write cost: the daemon inserts thousands of rows per second from one writer
-- thread, so every index below pays on that path. Three are kept, and two of
-- them are partial so that rows without the key (floods of malformed tokens,
-- admin events) do not touch them.
--
-- Client address filters (sharectl audit --ip ADDR|CIDR) have no index: the
-- query walks rows newest first (by id, with the other filters applied in SQL)
-- and tests each client_ip against the CIDR in C++. An index on a binary form
-- of the address would cost every insert for a rare interactive query.

CREATE TABLE audit_records (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- increasing, never reused
  ts           INTEGER NOT NULL,                   -- unix milliseconds, UTC
  event        TEXT    NOT NULL,                   -- resolve | media | admin
  outcome      TEXT    NOT NULL,                   -- SPEC 7 outcomes
  status       INTEGER,                            -- HTTP status; NULL for admin
  client_ip    TEXT,                               -- address text; truncated after ip_retention_days
  ip_truncated INTEGER NOT NULL DEFAULT 0,         -- 1 once retention has aged client_ip (or found none)
  share_id     TEXT,
  token_fp     TEXT,                               -- first 12 hex of SHA-256 of the token
  request_id   TEXT,
  user_agent   TEXT,                               -- at most 256 bytes, control characters escaped
  actor        TEXT,                               -- OS user, admin events
  action       TEXT,                               -- share.create, track.remove, ...
  detail       TEXT                                -- short text, admin events
);

-- Retention and time filters. ip_truncated leads so that address ageing reads
-- exactly the rows still to age (ip_truncated = 0 AND ts < cutoff) however
-- large the aged part of the log is; time ranges use "ip_truncated IN (0, 1)
-- AND ts ...". New rows land at the end of the ip_truncated = 0 part, so the
-- insert cost is that of a plain index on ts.
CREATE INDEX audit_records_age ON audit_records (ip_truncated, ts);

-- sharectl audit --share and share inspect's summary. The rowid that SQLite
-- appends to every index entry gives "newest first" without a sort.
CREATE INDEX audit_records_share ON audit_records (share_id) WHERE share_id IS NOT NULL;

-- sharectl audit --token (looked up by the token's fingerprint).
CREATE INDEX audit_records_token_fp ON audit_records (token_fp) WHERE token_fp IS NOT NULL;
