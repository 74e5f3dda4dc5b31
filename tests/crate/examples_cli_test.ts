/**
 * The shipped crates run unmodified against a scratch tree: `--root DIR` rebases the `backups`
 * crate's absolute paths under DIR, and `--var` points `vigo-server-backup` at scratch directories.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { crateRun, ino, scratch, show, snapshots, writeTree } from "./fixture.ts";

const EXAMPLES = join(REPO_ROOT, "examples/crates");

function serverTree(root: string): void {
  writeTree(root, {
    "server.yaml": "database:\n  driver: sqlite\n",
    "stacks/configcrates/web.vgo": "name: web\n",
    "secrets/.master.key": "k",
    "tls/ca.pem": "pem",
  });
  for (const p of ["db/vigo.db", "sandgorgon/sandgorgon.db"]) {
    writeTree(root, { [`${p}.keep`]: "" });
    const db = new DatabaseSync(join(root, p));
    db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');");
    db.close();
  }
}

Deno.test("examples/crates/backups.yaml runs with --root", async () => {
  const s = scratch();
  try {
    serverTree(join(s.dir, "srv/vigo"));
    const crate = join(EXAMPLES, "backups.yaml");
    // --root keeps the crate's 1G min_free_space: the scratch filesystem must have that much
    let r = await crateRun(crate, "2026-03-13T02:00:00Z", ["--root", s.dir]);
    assert.equal(r.code, 0, show(r));
    r = await crateRun(crate, "2026-03-14T02:00:00Z", ["--root", s.dir]);
    assert.equal(r.code, 0, show(r));
    const files = join(s.dir, "var/backups/vigo");
    assert.deepEqual(snapshots(files), ["2026.072.02.00", "2026.073.02.00"]);
    assert.equal(
      ino(join(files, "2026.073.02.00/tls/ca.pem")),
      ino(join(files, "2026.072.02.00/tls/ca.pem")),
    );
    for (const [dir, file] of [["vigo-db", "vigo.sql.gz"], ["vigo-sandgorgon-db", "sandgorgon.sql.gz"]]) {
      const [a, b] = snapshots(join(files, dir));
      assert.equal(ino(join(files, dir, a, file)), ino(join(files, dir, b, file)), dir);
    }
    // --resource runs just the named ones; an unknown name is a usage error
    r = await crateRun(crate, "2026-03-15T02:00:00Z", ["--root", s.dir, "--resource", "vigo-db-backup"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(snapshots(files).length, 2);
    assert.equal(snapshots(join(files, "vigo-db")).length, 3);
    r = await crateRun(crate, "2026-03-15T02:00:00Z", ["--root", s.dir, "--resource", "nope"]);
    assert.equal(r.code, 2, show(r));
    const list = await runCli(["snapshot", "list", files, "--json"]);
    assert.equal(list.code, 0, show(list));
    assert.deepEqual(JSON.parse(list.stdout).map((x: { name: string }) => x.name), [
      "2026.072.02.00",
      "2026.073.02.00",
    ]);
  } finally {
    s.cleanup();
  }
});

Deno.test("examples/crates/vigo-server-backup.yaml runs with --var overrides", async () => {
  const s = scratch();
  try {
    const root = join(s.dir, "srv"), out = join(s.dir, "backups");
    serverTree(root);
    writeFileSync(join(root, "db/vigo.db-wal"), "wal");
    const vars = [
      "--var",
      `server_root=${root}`,
      "--var",
      `backup_root=${out}`,
      "--var",
      "backup_retain=2",
      "--var",
      "backup_min_free_space=1M",
    ];
    const crate = join(EXAMPLES, "vigo-server-backup.yaml");
    for (const day of ["2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13", "2026-03-14"]) {
      const r = await crateRun(crate, `${day}T02:00:00Z`, vars);
      assert.equal(r.code, 0, show(r));
    }
    // backup_retain=2: snapshots older than two days are pruned
    assert.deepEqual(snapshots(join(out, "files")), ["2026.071.02.00", "2026.072.02.00", "2026.073.02.00"]);
    assert.deepEqual(snapshots(join(out, "db")), ["2026.071.02.00", "2026.072.02.00", "2026.073.02.00"]);
    const snap = join(out, "files/2026.073.02.00");
    assert.ok(existsSync(join(snap, "stacks/configcrates/web.vgo")));
    assert.ok(!existsSync(join(snap, "db/vigo.db")) && !existsSync(join(snap, "db/vigo.db-wal")));
    assert.ok(existsSync(join(out, "db/2026.073.02.00/vigo.sql.gz")));
    const bad = await crateRun(crate, "2026-03-15T02:00:00Z", ["--var", "backup_retian=2"]);
    assert.equal(bad.code, 3, show(bad));
    assert.match(bad.stderr, /backup_retian/);
  } finally {
    s.cleanup();
  }
});
