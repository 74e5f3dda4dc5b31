/**
 * A restore killed just after it moved server.yaml aside leaves the root without one. The next
 * command must roll that back before it reads server.yaml: `restore --db-only` read the default
 * database path instead of the configured one and put the database where the server never looks
 * (exit 0); `create` failed with "server.yaml not found" and rolled nothing back (found by review).
 * The kill is real (signalled_restore.ts): SIGKILL at the rename that would put the new server.yaml in.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { restoreSignalledAt } from "./signalled_restore.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { exists, makeServerRoot } from "./fixture.ts";

const YAML = "database:\n  driver: sqlite\n  path: db2/vigo.db\n";

/** A root whose database is at db2/vigo.db (server.yaml says so), and an archive of another root. */
async function setup() {
  const src = await makeServerRoot({ rows: 30 });
  const archive = join(src.root, "snapshots", "b.tar.gz");
  const made = await runCli(["backup", "create", ...src.flags, archive]);
  assert.equal(made.code, 0, made.stderr);
  const dst = await makeServerRoot({ rows: 80, yaml: YAML });
  await Deno.mkdir(join(dst.root, "db2"));
  await Deno.rename(dst.db, join(dst.root, "db2/vigo.db"));
  return { src, dst, archive, yaml: join(dst.root, "server.yaml") };
}

/** `backup restore ARCHIVE --target ROOT`, killed at the rename that puts the new server.yaml in. */
async function killedRestore(archive: string, root: string, yaml: string): Promise<void> {
  const { code } = await restoreSignalledAt(
    archive,
    root,
    "SIGKILL",
    (l, copy) => l.includes(`, "${copy}/server.yaml"`),
  );
  assert.notEqual(code, 0, "the restore was not killed");
  assert.ok(!(await exists(yaml)), "server.yaml is not aside: the kill came elsewhere");
}

const rowsOf = async (db: string) => (await sqliteQuery(db, "SELECT count(*) FROM t")).trim();

Deno.test({
  name: "restore --db-only after a restore killed with server.yaml aside: rolled back first, configured path",
  ignore: !hasStrace,
  fn: async () => {
    const { src, dst, archive, yaml } = await setup();
    await killedRestore(archive, dst.root, yaml);
    const r = await runCli(["backup", "restore", archive, "--db-only", "--target", dst.root, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(yaml), YAML, "server.yaml rolled back");
    assert.equal(await rowsOf(join(dst.root, "db2/vigo.db")), "30", "the configured database restored");
    assert.ok(!(await exists(join(dst.root, "db/vigo.db"))), "a database where the server never looks");
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});

Deno.test({
  name: "create after a restore killed with server.yaml aside rolls it back, then archives the old root",
  ignore: !hasStrace,
  fn: async () => {
    const { src, dst, archive, yaml } = await setup();
    await killedRestore(archive, dst.root, yaml);
    const dry = await runCli(["backup", "create", "--server-root", dst.root, "--dry-run"]);
    assert.match(dry.stderr, /a restore was interrupted here; the real create first rolls it back/);
    const out = join(dst.root, "snapshots", "after.tar.gz");
    const r = await runCli(["backup", "create", "--server-root", dst.root, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(yaml), YAML);
    assert.equal(await rowsOf(join(dst.root, "db2/vigo.db")), "80", "the old database is back");
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});

Deno.test({
  name:
    "SIGTERM during the commit: the restore completes, says so, exits 130 and leaves no staging directory",
  ignore: !hasStrace,
  fn: async () => {
    const { src, dst, archive } = await setup();
    const r = await restoreSignalledAt(archive, dst.root, "SIGTERM", (l) => l.includes(".restore-journal-"));
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      r.stderr,
      /interrupted \(SIGTERM\) after the restore committed: .* holds the archive's files, the previous ones are kept in .*\.pre-restore-/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(dst.root)].map((e) => e.name).filter((n) => n.startsWith(".restore-")),
      [],
    );
    assert.equal(await rowsOf(join(dst.root, "db/vigo.db")), "30", "the archive's database");
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});
