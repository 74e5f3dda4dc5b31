/**
 * `database.path` other than db/vigo.db: restore puts the database where the server.yaml in effect
 * expects it (the archived one on a full restore, the target's own with --db-only) when that is
 * inside the target, and otherwise restores it to <target>/db/vigo.db with a warning naming both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { exists, makeServerRoot, type ServerFixture } from "./fixture.ts";

const count = async (db: string) => (await sqliteQuery(db, "SELECT count(*) FROM t")).trim();
const integrity = async (db: string) => (await sqliteQuery(db, "PRAGMA integrity_check")).trim();

/** A server root whose database lives at `dbPath` (as written in server.yaml) and an archive of it. */
async function rootWithDatabaseAt(
  dbPath: string,
  rows: number,
): Promise<{ fx: ServerFixture; archive: string }> {
  const fx = await makeServerRoot({ rows, yaml: `database:\n  driver: sqlite\n  path: ${dbPath}\n` });
  const actual = dbPath.startsWith("/") ? dbPath : join(fx.root, dbPath);
  await Deno.mkdir(join(actual, ".."), { recursive: true });
  await sqliteQuery(fx.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  await Deno.rename(fx.db, actual);
  await Deno.remove(join(fx.root, "db"), { recursive: true });
  const archive = join(fx.root, "snapshots", "a.tar.gz");
  const r = await runCli(["backup", "create", ...fx.flags, archive]);
  assert.equal(r.code, 0, r.stderr);
  return { fx, archive };
}

Deno.test("a database.path inside the root is honoured by restore, dry run and --db-only", async () => {
  const { fx, archive } = await rootWithDatabaseAt("data/main/vigo.db", 120);
  const target = await Deno.makeTempDir({ prefix: "vigo-dbpath-target-" });
  try {
    const dry = await runCli(["backup", "restore", archive, "--target", target, "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.equal(plan.database, join(target, "data/main/vigo.db"));
    assert.ok(plan.plan.some((l: { path: string }) => l.path === "data/main/vigo.db"));
    assert.ok(!plan.plan.some((l: { path: string }) => l.path.startsWith("db/")), dry.stdout);

    const r = await runCli(["backup", "restore", archive, "--target", target]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /database restored to .*data\/main\/vigo\.db/);
    const db = join(target, "data/main/vigo.db");
    assert.equal(await count(db), "120");
    assert.equal(await integrity(db), "ok");
    assert.ok(!(await exists(join(target, "db/vigo.db"))), "nothing at the default path");

    // --db-only follows the target's own server.yaml, here pointing somewhere else again.
    await Deno.writeTextFile(join(target, "server.yaml"), "database:\n  path: other/vigo.db\n");
    const only = await runCli(["backup", "restore", archive, "--target", target, "--db-only"]);
    assert.equal(only.code, 0, only.stderr);
    assert.equal(await count(join(target, "other/vigo.db")), "120");
    assert.equal(await count(db), "120", "the previous location is left alone");

    // A server.yaml that does not load, or a --server-yaml that is not there, is its error (exit 3),
    // before anything is staged: it used to mean db/vigo.db, with exit 0. Unknown keys are warned about.
    const before = await Deno.readFile(join(target, "other/vigo.db"));
    await Deno.writeTextFile(join(target, "server.yaml"), "database:\n\tpath: data/x.db\n");
    const broken = await runCli(["backup", "restore", archive, "--target", target, "--db-only"]);
    assert.equal(broken.code, 3, broken.stderr);
    assert.match(broken.stderr, /^vigocli: .*server\.yaml: /);
    const missing = join(target, "nope.yaml");
    const gone = await runCli([
      "backup",
      "restore",
      archive,
      "--target",
      target,
      "--db-only",
      "--server-yaml",
      missing,
    ]);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /nope\.yaml/);
    assert.ok(!(await exists(join(target, "db/vigo.db"))), "nothing restored to the default path");
    assert.deepEqual(await Deno.readFile(join(target, "other/vigo.db")), before);
    await Deno.writeTextFile(join(target, "server.yaml"), "database:\n  path: other/vigo.db\n  pathh: x\n");
    const warned = await runCli(["backup", "restore", archive, "--target", target, "--db-only", "--dry-run"]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /warning: .*pathh/);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(target, { recursive: true });
  }
});

Deno.test("a database.path outside the target: restored to db/vigo.db with a warning", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "vigo-dbpath-elsewhere-" });
  const { fx, archive } = await rootWithDatabaseAt(join(elsewhere, "vigo.db"), 80);
  const target = await Deno.makeTempDir({ prefix: "vigo-dbpath-target-" });
  const sha = async (p: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(p)));
  const before = await sha(join(elsewhere, "vigo.db"));
  try {
    const r = await runCli(["backup", "restore", archive, "--target", target]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: database\.path .* is .*vigo\.db, outside the target; .*db\/vigo\.db/);
    assert.equal(await count(join(target, "db/vigo.db")), "80");
    assert.deepEqual(await sha(join(elsewhere, "vigo.db")), before, "nothing written outside the target");
  } finally {
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(target, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("a database.path directory the target lacks gets the archived directory's mode and owner", async () => {
  const fx = await makeServerRoot({ rows: 5, yaml: "database:\n  driver: sqlite\n  path: data/x/main.db\n" });
  const target = await Deno.makeTempDir({ prefix: "vigo-dbpath-owner-" });
  try {
    const dir = join(fx.root, "data/x");
    await Deno.mkdir(dir, { recursive: true });
    await sqliteQuery(fx.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    await Deno.rename(fx.db, join(dir, "main.db"));
    const root = Deno.uid() === 0;
    if (root) await Deno.chown(dir, 70000, 70000);
    await Deno.chmod(dir, 0o750);
    const archive = join(fx.root, "snapshots", "a.tar.gz");
    assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
    const r = await runCli(["backup", "restore", archive, "--target", target]);
    assert.equal(r.code, 0, r.stderr);
    // It was made root's, 0755: a server running as 70000 could not write its -wal there.
    const st = await Deno.stat(join(target, "data/x"));
    assert.equal(st.mode! & 0o7777, 0o750);
    if (root) assert.deepEqual([st.uid, st.gid], [70000, 70000]);
    assert.equal(await count(join(target, "data/x/main.db")), "5");
  } finally {
    await Deno.remove(target, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});
