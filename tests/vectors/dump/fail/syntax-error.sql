-- vigocli sqlite dump v1
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO "t" VALUES(1,'one');
INSERT INTO "t" VALUES(2,;
INSERT INTO "t" VALUES(3,'row data that must not be quoted in the error');
INSERT INTO "t" VALUES(4,'nor this');
COMMIT;
