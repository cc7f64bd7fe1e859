-- Schema 2 (schema/audit/0003 on SQLite): the time-range index carries event,
-- outcome and client_ip, so that sharectl audit stats --since reads the index
-- alone (an index-only scan) instead of one heap tuple per record of the
-- range. INCLUDE keeps them out of the key: the B-tree orders, and new rows
-- land, exactly as before.
--
-- Index-only scans skip the heap for pages the visibility map marks
-- all-visible; the audit table is only appended to (and pruned from the old
-- end), and autovacuum's insert threshold keeps the map up to date.

DROP INDEX audit_records_age;
CREATE INDEX audit_records_age ON audit_records (ip_truncated, ts) INCLUDE (event, outcome, client_ip);
