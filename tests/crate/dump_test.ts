/**
 * The deterministic dumper: the test vector, byte-identical repeat dumps, a consistent read under a
 * live sqlite3 writer, and restores (by sqlite3 and by restoreDump) that reproduce every table, index,
 * view and trigger.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { dumpSql } from "../../lib/crate/sql_dump.ts";
import { writeGzipDump } from "../../lib/crate/dump_file.ts";
import { restoreDump } from "../../lib/crate/dump_restore.ts";
import { inlineGzip, workerGzip } from "../../lib/codec/gzip/gzip_pieces.ts";
import { BadInputError, ExistsError } from "../../lib/errors.ts";
import { dbFingerprint } from "./db_compare.ts";

const VECTORS = fileURLToPath(new URL("../vectors/dump/", import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "crate-dump-"));
}

function dumpText(db: DatabaseSync): string {
  return new TextDecoder().decode(Buffer.concat([...dumpSql(db)]));
}

/** A database with every kind of object and awkward values. */
function richDb(path: string, rows: number): void {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec(readFileSync(join(VECTORS, "source.sql"), "utf8"));
  db.exec("CREATE TABLE nums(id INTEGER PRIMARY KEY, r REAL, i INTEGER, t TEXT, b BLOB)");
  db.exec("CREATE TABLE pairs(a TEXT, b INTEGER, PRIMARY KEY(b, a)) WITHOUT ROWID");
  const ins = db.prepare("INSERT INTO nums(r, i, t, b) VALUES (?, ?, ?, ?)");
  const pair = db.prepare("INSERT INTO pairs VALUES (?, ?)");
  let seed = 7;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  db.exec("BEGIN");
  for (let k = 0; k < rows; k++) {
    const r = k % 2 === 0 ? (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) : Math.round(rnd() * 1e6) / 100;
    ins.run(
      r,
      BigInt(Math.floor(rnd() * 2 ** 62)) * (k % 3 ? 1n : -1n),
      `row ${k} 'q' ü ✓ \n`,
      new Uint8Array([k & 255, 0, 255]),
    );
    pair.run(`p${k}`, k % 17);
  }
  db.exec("COMMIT");
  db.exec(
    "CREATE INDEX nums_t ON nums(t); CREATE VIEW v2 AS SELECT * FROM heavy; CREATE TEMP TABLE scratch(x)",
  );
  db.exec(
    "CREATE VIRTUAL TABLE notes USING fts5(body); INSERT INTO notes VALUES ('vigo backup'), ('hello world')",
  );
  db.exec("ANALYZE");
  db.close();
}

Deno.test("test vector: the dump of source.sql is expected.sql byte for byte", () => {
  const db = new DatabaseSync(":memory:");
  db.exec(readFileSync(join(VECTORS, "source.sql"), "utf8"));
  assert.equal(dumpText(db), readFileSync(join(VECTORS, "expected.sql"), "utf8"));
});

Deno.test("dumps of unchanged data are byte-identical; a write changes them", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    richDb(src, 3000);
    await writeGzipDump(src, join(dir, "a.sql.gz"));
    await writeGzipDump(src, join(dir, "b.sql.gz"));
    const a = readFileSync(join(dir, "a.sql.gz"));
    assert.ok(a.length > 1000);
    assert.deepEqual(a, readFileSync(join(dir, "b.sql.gz")));
    // gzip header: no FNAME flag, mtime zero
    assert.equal(a[3] & 0x08, 0);
    assert.deepEqual([...a.subarray(4, 8)], [0, 0, 0, 0]);
    const db = new DatabaseSync(src);
    db.exec("UPDATE nums SET t = 'changed' WHERE id = 1500");
    db.close();
    await writeGzipDump(src, join(dir, "c.sql.gz"));
    assert.notDeepEqual(readFileSync(join(dir, "c.sql.gz")), a);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("restore by sqlite3 and by restoreDump round-trips tables, indexes, views, triggers, FTS5, stats", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    richDb(src, 2000);
    const dump = join(dir, "d.sql.gz");
    await writeGzipDump(src, dump);
    const expected = dbFingerprint(src);
    const bySqlite = join(dir, "sqlite3.db");
    execFileSync("sqlite3", ["-bail", bySqlite], { input: gunzipSync(readFileSync(dump)) });
    const byUs = join(dir, "ours.db");
    await restoreDump(dump, byUs);
    assert.deepEqual(dbFingerprint(byUs), expected);
    for (const restored of [byUs, bySqlite]) {
      const r = new DatabaseSync(restored, { readOnly: true });
      assert.deepEqual(
        r.prepare("SELECT rowid FROM notes WHERE notes MATCH 'vigo'").all().map((x) => x.rowid),
        [1],
      );
      assert.ok((r.prepare("SELECT count(*) AS n FROM sqlite_stat1").get() as { n: number }).n > 0);
      r.close();
    }
    // Debian's sqlite3 3.40 parses a few reals below ~1e-290 one ulp off; none are generated here
    assert.deepEqual(dbFingerprint(bySqlite), expected);
    await assert.rejects(restoreDump(dump, byUs), ExistsError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("restoreDump is exact for every double, including subnormals", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    const db = new DatabaseSync(src);
    db.exec("CREATE TABLE r(x REAL)");
    const ins = db.prepare("INSERT INTO r VALUES (?)");
    const view = new DataView(new ArrayBuffer(8));
    const values: number[] = [5e-324, -Number.MAX_VALUE, Infinity, -Infinity, 2 ** -1022, 0.1 + 0.2];
    for (let k = 0; k < 20000; k++) {
      view.setUint32(0, (Math.random() * 2 ** 32) >>> 0);
      view.setUint32(4, (Math.random() * 2 ** 32) >>> 0);
      const v = view.getFloat64(0);
      if (!Number.isNaN(v)) values.push(v);
    }
    db.exec("BEGIN");
    for (const v of values) ins.run(v);
    db.exec("COMMIT");
    db.close();
    await writeGzipDump(src, join(dir, "d.sql.gz"));
    await restoreDump(join(dir, "d.sql.gz"), join(dir, "out.db"));
    const out = new DatabaseSync(join(dir, "out.db"), { readOnly: true });
    const got = out.prepare("SELECT x FROM r ORDER BY rowid").all().map((r) => (r as { x: number }).x);
    out.close();
    assert.equal(got.length, values.length);
    for (let k = 0; k < values.length; k++) {
      assert.ok(Object.is(got[k], values[k]), `${values[k]} came back as ${got[k]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a dump taken under a live sqlite3 writer is one consistent snapshot", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "bank.db");
    const db = new DatabaseSync(src);
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER)");
    db.exec(
      `INSERT INTO acct(bal) SELECT 1000 FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<200) SELECT i FROM c)`,
    );
    db.close();
    // every transaction moves money between accounts: the total is invariant
    let script = ".timeout 10000\nPRAGMA synchronous=OFF;\n";
    for (let k = 0; k < 20000; k++) {
      const a = 1 + (k * 7919) % 200, b = 1 + (k * 104729) % 200;
      script += `BEGIN; UPDATE acct SET bal=bal-3 WHERE id=${a}; INSERT INTO acct(bal) VALUES(0); ` +
        `UPDATE acct SET bal=bal+3 WHERE id=${b}; COMMIT;\n`;
    }
    const writer = spawn("sqlite3", [src], { stdio: ["pipe", "ignore", "inherit"] });
    const exited = new Promise((res) => writer.on("exit", res));
    writer.stdin.end(script);
    const sizes = new Set<number>();
    for (let k = 0; k < 4; k++) {
      const dump = join(dir, `d${k}.sql.gz`);
      await writeGzipDump(src, dump);
      await restoreDump(dump, join(dir, `r${k}.db`));
      const r = new DatabaseSync(join(dir, `r${k}.db`), { readOnly: true });
      const { total, n } = r.prepare("SELECT sum(bal) AS total, count(*) AS n FROM acct").get() as {
        total: number;
        n: number;
      };
      r.close();
      assert.equal(total, 200_000);
      sizes.add(n);
    }
    await exited;
    assert.ok(sizes.size > 1 || [...sizes][0] > 200, "the writer was not running during the dumps");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a rollback-journal database is dumped from a private copy, which is then removed", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    richDb(src, 300);
    const db = new DatabaseSync(src);
    db.exec("PRAGMA journal_mode=DELETE");
    assert.equal(
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "delete",
    );
    db.close();
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    await writeGzipDump(src, join(out, "a.sql.gz"));
    await writeGzipDump(src, join(out, "b.sql.gz"));
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["a.sql.gz", "b.sql.gz"]);
    assert.deepEqual(readFileSync(join(out, "a.sql.gz")), readFileSync(join(out, "b.sql.gz")));
    await restoreDump(join(out, "a.sql.gz"), join(dir, "r.db"));
    assert.deepEqual(dbFingerprint(join(dir, "r.db")), dbFingerprint(src));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("restoreDump refuses truncated and garbage input", async () => {
  const dir = tempDir();
  try {
    const src = join(dir, "src.db");
    richDb(src, 500);
    await writeGzipDump(src, join(dir, "d.sql.gz"));
    const plain = gunzipSync(readFileSync(join(dir, "d.sql.gz")));
    Deno.writeFileSync(join(dir, "cut.sql"), plain.subarray(0, Math.floor(plain.length / 2)));
    await assert.rejects(restoreDump(join(dir, "cut.sql"), join(dir, "o1.db")), BadInputError);
    const gz = readFileSync(join(dir, "d.sql.gz"));
    Deno.writeFileSync(join(dir, "cut.sql.gz"), gz.subarray(0, gz.length - 100));
    await assert.rejects(restoreDump(join(dir, "cut.sql.gz"), join(dir, "o2.db")), BadInputError);
    Deno.writeFileSync(join(dir, "junk.sql"), new TextEncoder().encode("this is not sql;\n"));
    await assert.rejects(restoreDump(join(dir, "junk.sql"), join(dir, "o3.db")), BadInputError);
    for (const o of ["o1.db", "o2.db", "o3.db"]) {
      assert.equal(Deno.statSync(dir).isDirectory && exists(join(dir, o)), false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("the gzip worker produces the same members as inline compression", async () => {
  const pieces = [0, 1, 2].map((k) =>
    new TextEncoder().encode(`INSERT INTO t VALUES(${k},'x');\n`.repeat(20000 + k))
  );
  const inline = inlineGzip(2);
  const worker = workerGzip(2);
  try {
    const a = await Promise.all(pieces.map((p) => inline.compress(p.slice())));
    const b = await Promise.all(pieces.map((p) => worker.compress(p.slice())));
    assert.deepEqual(b.map((x) => Buffer.from(x)), a.map((x) => Buffer.from(x)));
    assert.equal(gunzipSync(Buffer.concat(b)).length, pieces.reduce((n, p) => n + p.length, 0));
  } finally {
    await inline.close();
    await worker.close();
  }
});
