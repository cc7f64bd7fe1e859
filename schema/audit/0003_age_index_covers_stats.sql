-- Schema 3: the time-range index also holds event, outcome and client_ip, so
-- that sharectl audit stats --since answers from the index alone.
--
-- Why: both of its queries (counts per event/outcome, top client addresses)
-- found the day's records through (ip_truncated, ts) and then read one table
-- row per record for those three columns: on a log of 20M records, about
-- 650,000 random row reads for one day, seconds per query. With the columns
-- in the index they read consecutive index pages instead.
--
-- Write cost: new rows still land at the end of the ip_truncated = 0 part,
-- so an insert touches the same last leaf page as before; each entry is
-- longer by those three short texts (tests/bench/README.md has the figures).
-- Address ageing (client_ip and ip_truncated of a row change) rewrites the
-- same entry it already had to move.

DROP INDEX audit_records_age;
CREATE INDEX audit_records_age ON audit_records (ip_truncated, ts, event, outcome, client_ip);
