-- vigocli sqlite dump v1
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
PRAGMA user_version=42;
CREATE TABLE area(w INTEGER, h INTEGER, a INTEGER GENERATED ALWAYS AS (w * h) STORED, note);
INSERT INTO "area"("w","h","note") VALUES(2,3,'six');
INSERT INTO "area"("w","h","note") VALUES(4,5,1.5);
CREATE TABLE ends(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO "ends" VALUES(-9223372036854775808,'first');
INSERT INTO "ends" VALUES(0,'crlf'||char(13)||'
it''s'||char(13)||'');
INSERT INTO "ends" VALUES(9223372036854775807,'last');
CREATE TABLE hosts(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, weight REAL, key BLOB);
INSERT INTO "hosts" VALUES(1,'web-1',0.1,X'00FF10');
INSERT INTO "hosts" VALUES(2,'it''s',1.0e+300,NULL);
INSERT INTO "hosts" VALUES(3,'multi
line',-2.5e-07,X'');
INSERT INTO "hosts" VALUES(4,CAST(X'6E756C00696E73696465' AS TEXT),3.0,NULL);
CREATE TABLE "odd ""name"""(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
INSERT INTO "odd ""name""" VALUES('a',-9223372036854775808);
INSERT INTO "odd ""name""" VALUES('b',9223372036854775807);
INSERT INTO "odd ""name""" VALUES('c',NULL);
DELETE FROM sqlite_sequence;
INSERT INTO "sqlite_sequence" VALUES('hosts',100);
CREATE INDEX hosts_weight ON hosts(weight);
CREATE VIEW heavy AS SELECT name FROM hosts WHERE weight > 1;
CREATE TRIGGER area_log AFTER INSERT ON area BEGIN
  UPDATE area SET note = 'new; row' WHERE rowid = new.rowid;
END;
COMMIT;
