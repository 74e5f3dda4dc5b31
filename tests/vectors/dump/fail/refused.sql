-- vigocli sqlite dump v1
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
ATTACH '/tmp/elsewhere.db' AS other;
COMMIT;
