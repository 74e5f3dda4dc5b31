/**
 * Dumps are data, not programs: `crate restore-dump` refuses every statement that reaches outside the
 * database it builds (ATTACH of a live database, VACUUM INTO, DETACH, load_extension, foreign
 * PRAGMAs), enforced by SQLite's authorizer, on Deno and on Bun; `sqlite3 .dump` output still restores.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreDump } from "../../lib/crate/dump_restore.ts";
import { BadInputError } from "../../lib/errors.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { npmTool } from "../helpers/tools.ts";

function liveDb(dir: string): string {
  const path = join(dir, "live.db");
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)");
  db.close();
  return path;
}

function liveRows(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  const n = (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
  db.close();
  return n;
}

/** Each hostile dump, and the word its refusal must name. */
function hostileDumps(live: string, dir: string): [string, string, string][] {
  const head = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE a(x);\n";
  return [
    ["attach-live", `${head}ATTACH '${live}' AS l;\nDELETE FROM l.t;\nCOMMIT;\n`, "ATTACH"],
    ["attach-hidden", `${head}/* data */ ATTACH\n'${live}' AS "l";\nDELETE FROM l.t;\nCOMMIT;\n`, "ATTACH"],
    ["vacuum-into", `${head}COMMIT;\nVACUUM INTO '${join(dir, "copied.db")}';\n`, "VACUUM"],
    ["vacuum", `${head}COMMIT;\nVACUUM;\n`, "VACUUM"],
    ["detach", `${head}DETACH main;\nCOMMIT;\n`, "DETACH"],
    ["load-extension", `${head}SELECT load_extension('/tmp/evil.so');\nCOMMIT;\n`, "load_extension"],
    ["pragma-journal", `${head}PRAGMA journal_mode=OFF;\nCOMMIT;\n`, "PRAGMA journal_mode"],
    ["pragma-trusted", `${head}PRAGMA trusted_schema=ON;\nCOMMIT;\n`, "PRAGMA trusted_schema"],
    ["drop", `${head}DROP TABLE a;\nCOMMIT;\n`, "DROP TABLE"],
    ["savepoint", `${head}SAVEPOINT s;\nCOMMIT;\n`, "SAVEPOINT"],
  ];
}

Deno.test("restoreDump refuses statements that reach outside the new database", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crate-dump-hostile-"));
  try {
    const live = liveDb(dir);
    for (const [name, sql, word] of hostileDumps(live, dir)) {
      const dump = join(dir, `${name}.sql`);
      writeFileSync(dump, sql);
      const out = join(dir, `${name}.db`);
      await assert.rejects(restoreDump(dump, out), (err: Error) => {
        assert.ok(err instanceof BadInputError, `${name}: ${err}`);
        assert.ok(err.message.includes(dump) && err.message.includes(word), `${name}: ${err.message}`);
        return true;
      });
      assert.equal(existsSync(out), false, name);
      assert.equal(liveRows(live), 3, `${name} changed the live database`);
    }
    assert.equal(existsSync(join(dir, "copied.db")), false, "VACUUM INTO wrote a file");
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes(".tmp")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("sqlite3 .dump output (FTS5, stats, sequences) still restores", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crate-dump-hostile-"));
  try {
    const src = join(dir, "src.db");
    execFileSync("sqlite3", [src], {
      input: "CREATE TABLE s(id INTEGER PRIMARY KEY AUTOINCREMENT, v); INSERT INTO s(v) VALUES ('a'),('b');" +
        "CREATE VIRTUAL TABLE n USING fts5(body); INSERT INTO n VALUES ('vigo');" +
        "CREATE INDEX s_v ON s(v); CREATE VIEW w AS SELECT v FROM s;" +
        "CREATE TRIGGER tr AFTER INSERT ON s BEGIN UPDATE s SET v = v WHERE id = new.id; END;" +
        "PRAGMA user_version=7; ANALYZE;",
    });
    const dump = join(dir, "d.sql");
    writeFileSync(dump, execFileSync("sqlite3", [src, ".dump"]));
    const out = join(dir, "out.db");
    await restoreDump(dump, out);
    const db = new DatabaseSync(out, { readOnly: true });
    assert.equal(
      (db.prepare("SELECT count(*) AS n FROM n WHERE n MATCH 'vigo'").get() as { n: number }).n,
      1,
    );
    assert.equal((db.prepare("SELECT seq FROM sqlite_sequence").get() as { seq: number }).seq, 2);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("on Bun too, restore-dump refuses ATTACH of a live database (exit 4) and restores a plain dump", () => {
  const dir = mkdtempSync(join(tmpdir(), "crate-dump-hostile-"));
  try {
    const live = liveDb(dir);
    const [, sql] = hostileDumps(live, dir)[0];
    const bad = join(dir, "bad.sql");
    writeFileSync(bad, sql);
    const bun = (args: string[]) =>
      spawnSync(npmTool("bun"), ["run", `${REPO_ROOT}main.ts`, "crate", "restore-dump", ...args], {
        encoding: "utf8",
        timeout: 120_000,
      });
    const r = bun([bad, "-o", join(dir, "bad.db")]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /refused ATTACH/);
    assert.equal(liveRows(live), 3);
    const good = join(dir, "good.sql");
    writeFileSync(good, execFileSync("sqlite3", [live, ".dump"]));
    const ok = bun([good, "-o", join(dir, "good.db")]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(liveRows(join(dir, "good.db")), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
