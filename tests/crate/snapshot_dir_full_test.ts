/**
 * The snapshot directory full or read-only (a real tmpfs and a read-only bind of it; a hardlink
 * snapshot needs its source on the same filesystem): `crate run` exits 11 naming the path it was
 * writing (the lock file too, when not one block is free), leaves no half snapshot, no work directory
 * and no lock, and succeeds once space returns. Mounting needs root: without it the test is skipped,
 * saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";
import { backupCrate, crateRun, scratch, show, snapshots } from "./fixture.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("snapshot_dir_full_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name:
    "crate run onto a full or read-only snapshot dir: exit 11 naming it, nothing half-made, works with space",
  ignore: !isRoot,
  async fn() {
    const s = scratch();
    const fs = join(s.dir, "fs"), ro = join(s.dir, "ro");
    await Deno.mkdir(fs);
    await Deno.mkdir(ro);
    await sh(`mount -t tmpfs -o size=1300k tmpfs '${fs}'`);
    try {
      const src = join(fs, "src"), target = join(fs, "target");
      await Deno.mkdir(src);
      for (let i = 0; i < 50; i++) await Deno.writeFile(join(src, `f${i}`), randomBytes(20_000));
      const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["min_free_space: 1k"]);
      const full = await crateRun(crate, "2026-03-13T02:00:00Z");
      assert.equal(full.code, 11, show(full));
      assert.match(full.stderr, new RegExp(`${target}/\\S+: no space left on device`));
      assert.deepEqual(snapshots(target), []);
      const left = [...Deno.readDirSync(target)].map((e) => e.name).filter((n) =>
        n.startsWith(".incomplete-")
      );
      assert.deepEqual(left, [], "a half snapshot was left");

      await sh(`mount --bind '${fs}' '${ro}' && mount -o remount,bind,ro '${ro}'`);
      const roCrate = backupCrate(join(s.dir, "ro.yaml"), join(ro, "src"), join(ro, "target"), [
        "min_free_space: 1k",
      ]);
      const rdonly = await crateRun(roCrate, "2026-03-13T02:01:00Z");
      assert.equal(rdonly.code, 11, show(rdonly));
      assert.match(rdonly.stderr, new RegExp(`${join(ro, "target")}/\\S+: read-only file system`));
      await sh(`umount '${ro}'`);

      await sh(`mount -o remount,size=4m '${fs}'`);
      const ok = await crateRun(crate, "2026-03-13T02:05:00Z");
      assert.equal(ok.code, 0, show(ok));
      assert.deepEqual(snapshots(target), ["2026.072.02.05"]);
      assert.equal([...Deno.readDirSync(join(target, "2026.072.02.05"))].length, 50);
    } finally {
      await sh(`umount '${ro}' 2>/dev/null; umount '${fs}'`);
      s.cleanup();
    }
  },
});

Deno.test({
  name: "crate run onto a disk with not one block free: exit 11 naming the lock file, none left behind",
  ignore: !isRoot,
  async fn() {
    const s = scratch();
    const fs = join(s.dir, "fs");
    await Deno.mkdir(fs);
    await sh(`mount -t tmpfs -o size=256k tmpfs '${fs}'`);
    try {
      const src = join(fs, "src"), target = join(fs, "target");
      await Deno.mkdir(src);
      await Deno.writeFile(join(src, "f"), randomBytes(20_000));
      await sh(`dd if=/dev/zero of='${fs}/filler' bs=4k 2>/dev/null || true`);
      // The lock file is made (an inode, no block), its pid cannot be written.
      const crate = backupCrate(join(s.dir, "c.yaml"), src, target, ["min_free_space: 0"]);
      const full = await crateRun(crate, "2026-03-13T02:00:00Z");
      assert.equal(full.code, 11, show(full));
      assert.match(full.stderr, new RegExp(`${target}/\\.vigo-snapshot\\.lock: no space left on device`));
      assert.deepEqual(
        [...Deno.readDirSync(target)].map((e) => e.name).filter((n) => n !== ".vigo-last-run.json"),
        [],
      );
      await Deno.remove(join(fs, "filler"));
      const ok = await crateRun(crate, "2026-03-13T02:05:00Z");
      assert.equal(ok.code, 0, show(ok));
      assert.deepEqual(snapshots(target), ["2026.072.02.05"]);
    } finally {
      await sh(`umount '${fs}'`);
      s.cleanup();
    }
  },
});

Deno.test({
  name: "db_backup of a rollback-journal database onto a full disk: exit 11 naming the copy, not the source",
  ignore: !isRoot,
  async fn() {
    const s = scratch();
    const fs = join(s.dir, "fs");
    await Deno.mkdir(fs);
    await sh(`mount -t tmpfs -o size=1m tmpfs '${fs}'`);
    try {
      // A rollback-journal source is copied (backup API) beside the dump being written: 3 MB, on 1 MB.
      const db = join(s.dir, "db.db");
      await sh(
        `sqlite3 '${db}' "CREATE TABLE t(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c ` +
          `WHERE i < 3000) INSERT INTO t SELECT hex(randomblob(500)) FROM c;"`,
      );
      const crate = join(s.dir, "d.yaml");
      await Deno.writeTextFile(
        crate,
        `name: a\nresources:\n  - {name: d, type: db_backup, source_db: ${db}, target_path: ${fs}/d, ` +
          `min_free_space: "0"}\n`,
      );
      const full = await crateRun(crate, "2026-03-13T02:00:00Z");
      assert.equal(full.code, 11, show(full));
      assert.match(full.stderr, new RegExp(`vigocli: ${fs}/d/\\S+\\.db: no space left on device\\n$`));
      assert.doesNotMatch(full.stderr, /cannot open as SQLite/);
    } finally {
      await sh(`umount '${fs}'`);
      s.cleanup();
    }
  },
});
