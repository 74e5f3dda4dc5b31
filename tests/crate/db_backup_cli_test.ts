/**
 * The `db_backup` executor and `crate restore-dump` through the CLI: unchanged data → the dump is
 * hardlinked to the previous one; a write → new bytes; both `sqlite3 new.db < <(zcat dump)` and
 * `vigocli crate restore-dump` give back the same schema and data.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { dbFingerprint } from "./db_compare.ts";
import { crateRun, ino, scratch, show, snapshots } from "./fixture.ts";

function makeDb(path: string): void {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA user_version=3;
    CREATE TABLE hosts(id INTEGER PRIMARY KEY, name TEXT UNIQUE, load REAL, cert BLOB);
    CREATE TABLE tags(host INTEGER, tag TEXT, PRIMARY KEY(host, tag)) WITHOUT ROWID;
    CREATE INDEX hosts_load ON hosts(load);
    CREATE VIEW busy AS SELECT name FROM hosts WHERE load > 0.5;
    CREATE TRIGGER tag_new AFTER INSERT ON hosts BEGIN INSERT INTO tags VALUES(new.id, 'new'); END;`);
  const ins = db.prepare("INSERT INTO hosts(name, load, cert) VALUES (?, ?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < 500; i++) ins.run(`host-${i}.example.com`, i / 499, new Uint8Array([i & 255, 0, 7]));
  db.exec("COMMIT");
  db.close();
}

Deno.test("db_backup: unchanged DB → hardlinked dump; a write → new dump; both restores round-trip", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "vigo.db"), target = join(s.dir, "dumps");
    makeDb(src);
    const crate = join(s.dir, "c.yaml");
    writeFileSync(
      crate,
      `name: db\nresources:\n  - name: vigo-db\n    type: db_backup\n    db_type: sqlite\n` +
        `    source_db: ${src}\n    target_path: ${target}\n    min_free_space: 1M\n    retain: 14\n`,
    );
    for (const day of ["2026-03-13T02:00:00Z", "2026-03-14T02:00:00Z"]) {
      const r = await crateRun(crate, day);
      assert.equal(r.code, 0, show(r));
    }
    let [a, b] = snapshots(target).map((n) => join(target, n, "vigo.sql.gz"));
    assert.equal(ino(a), ino(b), "an unchanged database must yield a hardlinked dump");
    const db = new DatabaseSync(src);
    db.exec("INSERT INTO hosts(name, load) VALUES ('late.example.com', 0.9)");
    db.close();
    const r = await crateRun(crate, "2026-03-15T02:00:00Z", ["--json"]);
    assert.equal(r.code, 0, show(r));
    const rep = JSON.parse(r.stdout).resources[0];
    assert.equal(rep.status, "created");
    assert.equal(rep.stats.linked, false);
    [a, b] = snapshots(target).slice(1).map((n) => join(target, n, "vigo.sql.gz"));
    assert.notEqual(ino(a), ino(b));
    assert.notDeepEqual(readFileSync(a), readFileSync(b));

    const expected = dbFingerprint(src);
    const viaSqlite = join(s.dir, "sqlite3.db");
    execFileSync("bash", ["-c", 'sqlite3 "$1" < <(zcat "$2")', "restore", viaSqlite, b]);
    assert.deepEqual(dbFingerprint(viaSqlite), expected);
    const viaUs = join(s.dir, "ours.db");
    const rr = await runCli(["crate", "restore-dump", b, "-o", viaUs]);
    assert.equal(rr.code, 0, show(rr));
    assert.deepEqual(dbFingerprint(viaUs), expected);
    const again = await runCli(["crate", "restore-dump", b, "-o", viaUs]);
    assert.equal(again.code, 10, show(again));
    const missing = await runCli([
      "crate",
      "restore-dump",
      join(s.dir, "nope.sql.gz"),
      "-o",
      join(s.dir, "x.db"),
    ]);
    assert.equal(missing.code, 9, show(missing));
    assert.ok(!existsSync(join(s.dir, "x.db")));
    // -o into a missing directory names the directory (it was exit 1 naming a temporary file); a
    // directory as the dump is named as what it is.
    const noDir = await runCli(["crate", "restore-dump", b, "-o", join(s.dir, "nodir", "x.db")]);
    assert.equal(noDir.code, 9, show(noDir));
    assert.equal(
      noDir.stderr.trim(),
      `vigocli: ${join(s.dir, "nodir")}: no such directory (to write x.db into)`,
    );
    const dirDump = await runCli(["crate", "restore-dump", s.dir, "-o", join(s.dir, "y.db")]);
    assert.equal(dirDump.code, 4, show(dirDump));
    assert.equal(dirDump.stderr.trim(), `vigocli: ${s.dir}: the dump is a directory, not a regular file`);
    assert.ok(!existsSync(join(s.dir, "y.db")));
  } finally {
    s.cleanup();
  }
});

Deno.test("db_backup: a missing source_db fails that resource with exit 9", async () => {
  const s = scratch();
  try {
    const crate = join(s.dir, "c.yaml");
    writeFileSync(
      crate,
      `name: db\nresources:\n  - name: gone\n    type: db_backup\n` +
        `    source_db: ${s.dir}/gone.db\n    target_path: ${s.dir}/t\n    min_free_space: 1M\n`,
    );
    const r = await crateRun(crate, "2026-03-13T02:00:00Z");
    assert.equal(r.code, 9, show(r));
    assert.match(r.stderr, /gone\.db: source_db does not exist/);
    assert.deepEqual(snapshots(join(s.dir, "t")), []);
  } finally {
    s.cleanup();
  }
});
