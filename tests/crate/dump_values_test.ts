/**
 * Values and rows at the edges of what SQLite stores, written by the real sqlite3 shell, dumped by
 * writeGzipDump and restored both ways the docs give (`zcat dump | sqlite3 new.db` and restoreDump):
 * both restores must hold exactly the source's rows.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGzipDump } from "../../lib/crate/dump_file.ts";
import { restoreDump } from "../../lib/crate/dump_restore.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "crate-dump-values-"));
}

/** Builds `path` with the sqlite3 shell, as an operator's database would be. */
function sqlite3Db(path: string, sql: string): void {
  execFileSync("sqlite3", ["-bail", path], { input: sql });
}

/**
 * Every row of `table` in `key` order as [type, value] per column of `columns`, text decoded from the
 * bytes SQLite holds in the database's own encoding (node:sqlite would cut text at a NUL), so databases
 * of different encodings compare by content.
 */
function rows(path: string, table: string, key = "rowid", columns = ["rowid", "v"]): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const enc = (db.prepare("PRAGMA encoding").get() as { encoding: string }).encoding.toLowerCase();
    const stmt = db.prepare(
      `SELECT ${
        columns.map((c) =>
          `typeof(${c}), CASE WHEN typeof(${c}) IN ('text','blob') THEN CAST(${c} AS BLOB) ELSE ${c} END`
        ).join(", ")
      } FROM "${table}" ORDER BY ${key}`,
    );
    stmt.setReadBigInts(true);
    return stmt.all().map((r) =>
      Object.values(r).map((v, k, all) =>
        all[k - 1] === "text" && k % 2 === 1
          ? new TextDecoder(enc, { ignoreBOM: true }).decode(v as Uint8Array)
          : v
      )
    );
  } finally {
    db.close();
  }
}

/** Dumps `src` and restores it with the sqlite3 shell and with restoreDump; returns both databases. */
async function dumpAndRestore(dir: string, src: string): Promise<{ dump: string; restored: string[] }> {
  const dump = join(dir, "d.sql.gz");
  await writeGzipDump(src, dump);
  const bySqlite = join(dir, "sqlite3.db");
  execFileSync("sh", ["-c", 'zcat "$1" | sqlite3 -bail "$2"', "sh", dump, bySqlite]);
  const byUs = join(dir, "ours.db");
  await restoreDump(dump, byUs);
  return { dump, restored: [bySqlite, byUs] };
}

Deno.test("rows at both rowid extremes are dumped, -2^63 included", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    sqlite3Db(
      src,
      `CREATE TABLE t(id INTEGER PRIMARY KEY, v);
       INSERT INTO t VALUES (-9223372036854775808, 'min'), (-1, 'neg'), (0, 'zero'), (9223372036854775807, 'max');
       CREATE TABLE only_min(id INTEGER PRIMARY KEY, v);
       INSERT INTO only_min VALUES (-9223372036854775808, 'alone');`,
    );
    const { restored } = await dumpAndRestore(dir, src);
    for (const db of restored) {
      assert.deepEqual(rows(db, "t"), rows(src, "t"), db);
      assert.deepEqual(rows(db, "only_min"), rows(src, "only_min"), db);
    }
    assert.equal(rows(src, "t").length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("rows of every size in one table: small, 600 KB and small again come back in order", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    sqlite3Db(
      src,
      `CREATE TABLE t(id INTEGER PRIMARY KEY, v);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<1200)
       INSERT INTO t SELECT i, CASE WHEN i BETWEEN 700 AND 705 THEN randomblob(600000)
         WHEN i % 3 = 0 THEN 'row ' || i ELSE i * 1.5 END FROM c;`,
    );
    const { restored } = await dumpAndRestore(dir, src);
    for (const db of restored) assert.deepEqual(rows(db, "t"), rows(src, "t"), db);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const encoding of ["UTF-16le", "UTF-16be"]) {
  Deno.test(`a ${encoding} database dumps as UTF-8 SQL that restores to the same text`, async () => {
    const dir = tempDir();
    try {
      const src = join(dir, "src.db");
      const values = `('plain'), ('it''s'), ('ü ✓ 😀 中文'), (''), ('nul' || char(0) || 'in ✓'), (char(0)),
        (X'00ff10'), (42), (-2.5e-7), (NULL), ('multi
line'), (char(65279) || 'bom'), (char(65279) || 'a' || char(0) || 'b')`;
      sqlite3Db(
        src,
        `PRAGMA encoding='${encoding}';
         CREATE TABLE t(id INTEGER PRIMARY KEY, v);
         INSERT INTO t(v) VALUES ${values};
         CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
         INSERT INTO w SELECT 'k' || id || ifnull(v, ''), v FROM t;`,
      );
      const { dump, restored } = await dumpAndRestore(dir, src);
      const sql = new TextDecoder("utf-8", { fatal: true }).decode(gunzipSync(readFileSync(dump)));
      assert.match(sql, /^INSERT INTO "t" VALUES\(3,'ü ✓ 😀 中文'\);$/m);
      assert.match(sql, /^INSERT INTO "t" VALUES\(5,CAST\(X'6E756C00696E20E29C93' AS TEXT\)\);$/m);
      for (const db of restored) {
        assert.deepEqual(rows(db, "t"), rows(src, "t"), db);
        assert.deepEqual(rows(db, "w", "k", ["k", "v"]), rows(src, "w", "k", ["k", "v"]), db);
      }
      assert.equal(rows(src, "t").length, 13);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Deno.test("text holding CR comes back exactly from both restores, CRLF included", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    sqlite3Db(
      src,
      `CREATE TABLE t(id INTEGER PRIMARY KEY, v);
       INSERT INTO t(v) VALUES ('a' || char(13) || char(10) || 'b'), ('lone' || char(13) || 'cr'),
         ('ends' || char(13)), (char(13) || char(10)), ('it''s' || char(13) || char(10) || '''x'''),
         ('nul' || char(0) || char(13) || char(10)), ('line' || char(10) || 'feed');
       CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
       INSERT INTO w SELECT 'k' || char(13) || char(10) || id, v FROM t;
       CREATE TABLE "it's"("v" TEXT, "o'clock" TEXT, g AS (length(v)));
       INSERT INTO "it's"("v", "o'clock") SELECT v, '''' || v FROM t;`,
    );
    const { restored } = await dumpAndRestore(dir, src);
    for (const db of restored) {
      assert.deepEqual(rows(db, "t"), rows(src, "t"), db);
      assert.deepEqual(rows(db, "w", "k", ["k", "v"]), rows(src, "w", "k", ["k", "v"]), db);
      const quoted = ["rowid", "v", `"o'clock"`];
      assert.deepEqual(rows(db, "it's", "rowid", quoted), rows(src, "it's", "rowid", quoted), db);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
