-- vigocli sqlite dump v1
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO "t" VALUES(1,'one');
INSERT INTO "t" VALUES(2,'two');
