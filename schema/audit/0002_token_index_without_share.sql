-- Schema 2: the token_fp index keeps only records that name no share link
-- (unknown tokens, and requests refused before the lookup).
--
-- A record of a known link is found through the share index instead:
-- sharectl audit --token looks the token's link up in the main database and
-- asks for (token_fp = ? AND share_id IS NULL) OR (share_id = ? AND token_fp = ?),
-- which SQLite answers from the two indexes (MULTI-INDEX OR).
--
-- Why: a resolve of a known link inserted at a random place in two indexes
-- (share_id and token_fp, both random keys), and each commit rewrites every
-- index page it touched. With one of them gone from that path the audit writer
-- does about a third less work per record (tests/bench/run_bench.py).

DROP INDEX audit_records_token_fp;
CREATE INDEX audit_records_token_fp ON audit_records (token_fp) WHERE token_fp IS NOT NULL AND share_id IS NULL;
