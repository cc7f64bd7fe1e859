-- Schema 2: the views of links without max_views, as the daemon's view
-- counter writes them in batches, live in a narrow table of their own.
--
-- Why: under load the counter writes about once a second, one row per link
-- viewed in that second. In shares, a row is ~200 bytes (about 20 to a page):
-- on a catalogue of a million links, a second's views of 15,000 links
-- rewrote about 15,000 random pages (60 MB of WAL, and the checkpoint's copy
-- of it), after two random reads each to find the row. Here a row is
-- ~40 bytes (about 100 to a page) and only links that were viewed have one,
-- so the same batch rewrites a few hundred pages that mostly stay cached.
--
-- A link's view count is shares.view_count + views; its last view the later
-- of shares.last_viewed_at and viewed_at. Links with max_views are counted
-- in shares.view_count alone, in the same statement that checks the limit
-- (max_views is fixed at creation, so such a link never has a row here).
-- The foreign key is checked when a link gets its row (its first batched
-- view), not when its count grows, and sharectl db check reports a row
-- without its share.

CREATE TABLE share_views (
  share_id  TEXT    PRIMARY KEY REFERENCES shares (id),
  views     INTEGER NOT NULL CHECK (views >= 1),
  viewed_at INTEGER NOT NULL      -- unix seconds of the latest view
) WITHOUT ROWID;
