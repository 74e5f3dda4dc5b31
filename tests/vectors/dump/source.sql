-- Builds the database whose dump must equal expected.sql byte for byte (docs/dump-format.md).
PRAGMA user_version=42;
CREATE TABLE hosts(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, weight REAL, key BLOB);
INSERT INTO hosts(name, weight, key) VALUES ('web-1', 0.1, X'00ff10'), ('it''s', 1e300, NULL),
  ('multi
line', -2.5e-7, X''), ('nul' || char(0) || 'inside', 3.0, NULL);
INSERT INTO hosts(id, name, weight) VALUES (100, 'big', 0.30000000000000004);
DELETE FROM hosts WHERE name = 'big';
CREATE TABLE "odd ""name"""(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
INSERT INTO "odd ""name""" VALUES ('b', 9223372036854775807), ('a', -9223372036854775808), ('c', NULL);
CREATE TABLE ends(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO ends VALUES (9223372036854775807, 'last'), (-9223372036854775808, 'first'),
  (0, 'crlf' || char(13) || char(10) || 'it''s' || char(13));
CREATE TABLE area(w INTEGER, h INTEGER, a INTEGER GENERATED ALWAYS AS (w * h) STORED, note);
INSERT INTO area(w, h, note) VALUES (2, 3, 'six'), (4, 5, 1.5);
CREATE INDEX hosts_weight ON hosts(weight);
CREATE VIEW heavy AS SELECT name FROM hosts WHERE weight > 1;
CREATE TRIGGER area_log AFTER INSERT ON area BEGIN
  UPDATE area SET note = 'new; row' WHERE rowid = new.rowid;
END;
