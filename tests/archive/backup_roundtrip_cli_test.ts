/**
 * Round trips through the CLI: create → inspect/verify/list → restore reproduces every file byte for
 * byte with its mode; --db-only touches only the database; --dry-run changes nothing; restoring over
 * an existing tree moves the replaced files to .pre-restore-<time>/; standard gzip/tar read the archive.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { lutimesSync } from "node:fs";
import { runCli } from "../helpers/cli.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { exists, makeServerRoot, treeHash } from "./fixture.ts";

/** Everything but the database files (compared by content) and the snapshots directory. */
const notDb = (rel: string) => rel === "snapshots" || rel.startsWith("db/vigo.db");

/** A digest of the database's logical content (the file bytes of a live WAL database differ). */
const dbDigest = (db: string) => sqliteQuery(db, "SELECT hex(sha3_query('SELECT * FROM t ORDER BY id'))");

async function createArchive(flags: string[], out: string): Promise<void> {
  const r = await runCli(["backup", "create", ...flags, out]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("create, inspect, verify, list and a full restore reproduce the tree byte for byte", async () => {
  const fx = await makeServerRoot();
  // A backslash is an ordinary character in a Linux name: such a file once made an archive nothing could read.
  await Deno.writeTextFile(join(fx.root, "stacks/roles/web\\old.yaml"), "name: old web\n");
  // A link's own time, which the restore once left at the time of the restore.
  const link = "stacks/vars/web-link.yaml";
  lutimesSync(join(fx.root, link), 1_600_000_000, 1_600_000_000);
  const out = join(fx.root, "snapshots", "a.tar.gz");
  await createArchive(fx.flags, out);
  assert.ok(await exists(`${out}.sha256`));
  assert.equal((await Deno.stat(out)).mode! & 0o777, 0o600, "archive holds secrets: owner-only");

  // standard tools accept the multi-member gzip and the pax tar
  const gz = await new Deno.Command("gzip", { args: ["-t", out] }).output();
  assert.equal(gz.code, 0);
  const sum = await new Deno.Command("sha256sum", {
    args: ["-c", `${out}.sha256`],
    cwd: join(fx.root, "snapshots"),
  })
    .output();
  assert.equal(sum.code, 0, new TextDecoder().decode(sum.stdout));
  const tarList = await new Deno.Command("tar", {
    args: ["--quoting-style=literal", "-tzf", out],
    stdout: "piped",
  }).output();
  const names = new TextDecoder().decode(tarList.stdout).trim().split("\n");
  assert.equal(names[0], "manifest.json", "manifest is the first entry");
  for (
    const p of [
      "db/vigo.db",
      "stacks/",
      "secrets/.master.key",
      "tls/ca.pem",
      "server.yaml",
      "stacks/roles/web\\old.yaml",
    ]
  ) {
    assert.ok(names.includes(p), `archive lists ${p}`);
  }
  assert.ok(names.includes(`stacks/vars/${"long-name-".repeat(14)}.yaml`), "long name via pax");

  const inspect = await runCli(["backup", "inspect", out]);
  assert.equal(inspect.code, 0, inspect.stderr);
  const manifest = JSON.parse(inspect.stdout);
  assert.equal(manifest.format_version, 1);
  assert.equal(manifest.database.integrity_check, "ok");
  assert.ok(manifest.database.page_count > 10);
  const key = manifest.entries.find((e: { path: string }) => e.path === "secrets/.master.key");
  assert.equal(key.mode, "0600");
  assert.match(key.sha256, /^[0-9a-f]{64}$/);

  const verify = await runCli(["backup", "verify", out]);
  assert.equal(verify.code, 0, verify.stderr);

  const list = await runCli(["backup", "list", ...fx.flags, "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].name, "a.tar.gz");
  assert.equal(rows[0].encrypted, false);

  const target = await Deno.makeTempDir({ prefix: "vigo-restore-" });
  const restore = await runCli(["backup", "restore", out, "--target", target]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.deepEqual(await treeHash(target, notDb), await treeHash(fx.root, notDb));
  assert.equal(
    (await Deno.lstat(join(target, link))).mtime?.getTime(),
    1_600_000_000_000,
    "the link's mtime",
  );
  const dbLine = (await treeHash(target)).find((l) => l.startsWith("db/vigo.db "));
  const dbEntry = manifest.entries.find((e: { path: string }) => e.path === "db/vigo.db");
  assert.equal(dbLine, `db/vigo.db file ${dbEntry.mode.replace(/^0/, "")} ${dbEntry.sha256}`);
  assert.equal(await dbDigest(join(target, "db/vigo.db")), await dbDigest(fx.db));
  assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "PRAGMA integrity_check"), "ok");
  assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "SELECT count(*) FROM t"), "500");
  await Deno.remove(fx.root, { recursive: true });
  await Deno.remove(target, { recursive: true });
});

Deno.test("restore over an existing tree: --dry-run changes nothing, --db-only touches only the database, a full restore keeps the old files", async () => {
  const fx = await makeServerRoot();
  const out = join(fx.root, "snapshots", "b.tar.gz");
  await createArchive(fx.flags, out);
  const before = await dbDigest(fx.db);

  // Diverge the live tree from the archive: new rows, an edited file, an extra file, a stale WAL file.
  await sqliteQuery(fx.db, "INSERT INTO t(v, n) VALUES (randomblob(10), -1)");
  await Deno.writeTextFile(join(fx.root, "stacks/roles/web.yaml"), "name: changed\n");
  await Deno.writeTextFile(join(fx.root, "stacks/roles/extra.yaml"), "extra: true\n");
  const changedDb = await dbDigest(fx.db);
  const tree0 = await treeHash(fx.root);

  const dry = await runCli(["backup", "restore", out, "--target", fx.root, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^replace +stacks\/roles\/web\.yaml$/m);
  assert.match(dry.stdout, /^move-aside +stacks\/roles\/extra\.yaml$/m);
  assert.match(dry.stdout, /nothing was written/);
  assert.deepEqual(await treeHash(fx.root), tree0, "--dry-run changed nothing");

  const dbOnly = await runCli(["backup", "restore", out, "--target", fx.root, "--db-only"]);
  assert.equal(dbOnly.code, 0, dbOnly.stderr);
  assert.equal(await dbDigest(fx.db), before, "database restored");
  const notPre = (rel: string) => rel.startsWith(".pre-restore-");
  const changed = (await treeHash(fx.root, notPre)).filter((l) => !tree0.includes(l)).map((l) =>
    l.split(" ")[0]
  );
  assert.deepEqual(changed, ["db/vigo.db"], "--db-only touched only the database");
  const asideDirs = [...Deno.readDirSync(fx.root)].filter((e) => e.name.startsWith(".pre-restore-"));
  assert.equal(asideDirs.length, 1);
  assert.equal(
    await dbDigest(join(fx.root, asideDirs[0].name, "db/vigo.db")),
    changedDb,
    "old database kept",
  );

  // A leftover WAL next to the database must not be replayed into the restored one. (--force: the
  // lock probe would otherwise open the old database and discard this invalid WAL itself.)
  await Deno.writeFile(`${fx.db}-wal`, new Uint8Array(4096).fill(7));
  const full = await runCli(["backup", "restore", out, "--target", fx.root, "--json", "--force"]);
  assert.equal(full.code, 0, full.stderr);
  const report = JSON.parse(full.stdout);
  assert.ok(report.pre_restore_dir);
  assert.equal(
    await Deno.readTextFile(join(fx.root, "stacks/roles/web.yaml")),
    "name: web\npackages: [nginx]\n",
  );
  assert.ok(!(await exists(join(fx.root, "stacks/roles/extra.yaml"))), "stale file moved out of the tree");
  assert.equal(
    await Deno.readTextFile(join(report.pre_restore_dir, "stacks/roles/extra.yaml")),
    "extra: true\n",
  );
  assert.equal(
    await Deno.readTextFile(join(report.pre_restore_dir, "stacks/roles/web.yaml")),
    "name: changed\n",
  );
  assert.ok(await exists(join(report.pre_restore_dir, "db/vigo.db-wal")), "stale WAL moved aside");
  assert.equal(await sqliteQuery(fx.db, "PRAGMA integrity_check"), "ok");
  assert.equal(await dbDigest(fx.db), before);
  assert.ok(!(await exists(join(fx.root, ".restore-staging"))));
  assert.ok(
    ![...Deno.readDirSync(fx.root)].some((e) => e.name.startsWith(".restore-staging-")),
    "staging removed",
  );
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("OUT omitted writes <paths.snapshots>/vigo-backup-<UTC time>.tar.gz; an existing OUT is not overwritten", async () => {
  const fx = await makeServerRoot({ rows: 10 });
  const r = await runCli(["backup", "create", ...fx.flags, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const { path } = JSON.parse(r.stdout);
  assert.match(
    path,
    new RegExp(`^${fx.root}/snapshots/vigo-backup-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\.tar\\.gz$`),
  );
  const again = await runCli(["backup", "create", ...fx.flags, path]);
  assert.equal(again.code, 10, again.stderr);
  assert.match(again.stderr, /already exists/);
  const list = await runCli(["backup", "list", ...fx.flags]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /vigo-backup-.*\.tar\.gz +\d{4}-.*Z +\d+ +no/);
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("a symlink pointing out of the tree is left out with a warning, so the archive stays restorable", async () => {
  const fx = await makeServerRoot({ rows: 10 });
  await Deno.symlink("/etc/hostname", join(fx.root, "stacks/vars/outside.yaml"));
  await Deno.symlink("../../../..", join(fx.root, "stacks/vars/up"));
  const out = join(fx.root, "snapshots", "links.tar.gz");
  const c = await runCli(["backup", "create", ...fx.flags, out]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(
    c.stderr,
    /outside\.yaml: symbolic link to \/etc\/hostname points outside the archived tree; skipped/,
  );
  assert.match(c.stderr, /up: symbolic link to \.\.\/\.\.\/\.\.\/\.\. points outside/);
  const target = await Deno.makeTempDir({ prefix: "vigo-links-" });
  const r = await runCli(["backup", "restore", out, "--target", target]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await exists(join(target, "stacks/vars/web-link.yaml")), "inside links are kept");
  assert.ok(!(await exists(join(target, "stacks/vars/outside.yaml"))));
  await Deno.remove(fx.root, { recursive: true });
  await Deno.remove(target, { recursive: true });
});

Deno.test("a file that keeps changing between the two passes: create starts over, then gives up cleanly", async () => {
  // A database big enough that streaming it (between the file's two passes) outlasts many rewrites.
  const fx = await makeServerRoot({ rows: 20_000 });
  const big = join(fx.root, "stacks/vars/churn.bin");
  const churn = new Deno.Command("sh", {
    args: ["-c", `while :; do head -c 300000 /dev/urandom > ${big}.tmp && mv ${big}.tmp ${big}; done`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (!(await exists(big))) await new Promise((r) => setTimeout(r, 10));
    const out = join(fx.root, "snapshots", "churn.tar.gz");
    const r = await runCli(["backup", "create", ...fx.flags, out]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /churn\.bin: changed while the archive was being written/);
    assert.equal(r.stderr.match(/starting over/g)?.length, 2, r.stderr);
    assert.deepEqual([...Deno.readDirSync(join(fx.root, "snapshots"))], [], "nothing left behind");
  } finally {
    churn.kill();
    await churn.status;
  }
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("a file that only grows between the two passes is a change too, not cut to its first size", async () => {
  const fx = await makeServerRoot({ rows: 20_000 });
  const log = join(fx.root, "stacks/vars/growing.log");
  await Deno.writeTextFile(log, "first line\n".repeat(10_000));
  // Appends leave the bytes pass one hashed as they were: only the size shows the change.
  const grow = new Deno.Command("sh", {
    args: ["-c", `while :; do echo appended >> ${log}; done`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const out = join(fx.root, "snapshots", "grow.tar.gz");
    // Each open of the file waits 0.3 s (strace), so it surely grows between the passes: unaided, a
    // loaded machine could leave the appender unscheduled for a whole pass (exit 0 in one suite run).
    const slowOpens = ["-f", "-qq", "-o", "/dev/null", "-P", log, "-e", "trace=openat,open"];
    slowOpens.push("-e", "inject=openat,open:delay_enter=300000");
    const r = await runCli(["backup", "create", ...fx.flags, out], {
      via: hasStrace ? ["strace", ...slowOpens] : [],
    });
    // It exited 0 with the file cut to the size pass one had seen.
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /growing\.log: changed while the archive was being written/);
  } finally {
    grow.kill();
    await grow.status;
  }
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("an mtime a hair before a whole second is kept in its own second, not the next", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const file = join(fx.root, "stacks/vars/late.yaml");
  await Deno.writeTextFile(file, "x: 1\n");
  // .999999999 s: as a double of milliseconds it reads as the next whole second.
  const touched = await new Deno.Command("touch", { args: ["-d", "2020-01-01 00:00:00.999999999Z", file] })
    .output();
  assert.equal(touched.code, 0);
  const out = join(fx.root, "snapshots", "late.tar.gz");
  assert.equal((await runCli(["backup", "create", ...fx.flags, out])).code, 0);
  const manifest = JSON.parse((await runCli(["backup", "inspect", out])).stdout);
  const entry = manifest.entries.find((e: { path: string }) => e.path === "stacks/vars/late.yaml");
  assert.equal(entry.mtime, 1577836800, "archived as 1577836801");
  await Deno.remove(fx.root, { recursive: true });
});
