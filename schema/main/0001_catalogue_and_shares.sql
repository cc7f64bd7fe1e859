-- The catalogue the resolver reads (licences, tracks, collections) and the share links.
-- Times are unix seconds (UTC). Share tokens are never stored: only their SHA-256.

CREATE TABLE licences (
  licence_class        TEXT    NOT NULL CHECK (licence_class IN
                         ('commercial_cleared', 'commercial_enterprise', 'personal_only', 'unclear')),
  licence_version      TEXT    NOT NULL,
  commercial_use       INTEGER NOT NULL CHECK (commercial_use IN (0, 1)),
  requires_attribution INTEGER NOT NULL CHECK (requires_attribution IN (0, 1)),
  PRIMARY KEY (licence_class, licence_version)
) WITHOUT ROWID;

CREATE TABLE tracks (
  id                        TEXT    PRIMARY KEY,
  title                     TEXT    NOT NULL,
  engine                    TEXT    NOT NULL,
  mode                      TEXT    NOT NULL,
  measured_duration_seconds REAL,
  instrumental              INTEGER NOT NULL DEFAULT 0,
  licence_class             TEXT    NOT NULL,
  licence_version           TEXT    NOT NULL,
  no_commercial             INTEGER NOT NULL DEFAULT 0,
  mime_type                 TEXT    NOT NULL,
  audio_path                TEXT    NOT NULL,
  removed_at                INTEGER,
  created_at                INTEGER NOT NULL
);

CREATE TABLE collections (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  description TEXT,
  removed_at  INTEGER,
  created_at  INTEGER NOT NULL
);

-- A collection's tracks in order; a track appears at most once per collection.
CREATE TABLE collection_tracks (
  collection_id TEXT    NOT NULL REFERENCES collections (id),
  position      INTEGER NOT NULL,
  track_id      TEXT    NOT NULL REFERENCES tracks (id),
  PRIMARY KEY (collection_id, position),
  UNIQUE (collection_id, track_id)
) WITHOUT ROWID;

CREATE TABLE shares (
  id             TEXT    PRIMARY KEY,
  token_digest   TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of the raw token
  target_type    TEXT    NOT NULL CHECK (target_type IN ('track', 'collection')),
  target_id      TEXT    NOT NULL,
  visibility     TEXT    NOT NULL DEFAULT 'link_only' CHECK (visibility IN ('link_only', 'public')),
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER,
  max_views      INTEGER CHECK (max_views IS NULL OR max_views >= 1),
  view_count     INTEGER NOT NULL DEFAULT 0,
  last_viewed_at INTEGER,
  revoked_at     INTEGER,
  revoke_reason  TEXT,
  note           TEXT,
  created_by     TEXT    NOT NULL
);

CREATE INDEX shares_by_target ON shares (target_id);
