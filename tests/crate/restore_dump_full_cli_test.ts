/**
 * `crate restore-dump` into a directory that fills up (a real tmpfs): exit 11 naming the database it
 * was writing, not exit 4 blaming a statement of the dump; no temporary database or journal left; the
 * same dump restores once space returns. A read-only directory is exit 11 naming the output too (it was
 * exit 1, or a temporary file's name). Mounting needs root: without it the test is skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("restore_dump_full_cli_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name: "restore-dump into a full directory: exit 11 naming the output, nothing left, works with space",
  ignore: !isRoot,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-dump-full-" });
    const fs = join(dir, "fs");
    await Deno.mkdir(fs);
    const dump = join(dir, "d.sql");
    // ~1 MB of SQL for a ~500 KB database: more than the tmpfs holds.
    await sh(
      `sqlite3 '${dir}/src.db' "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE c(i) AS ` +
        `(SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 500) INSERT INTO t(v) SELECT randomblob(1000) FROM c;" ` +
        `&& sqlite3 '${dir}/src.db' .dump > '${dump}'`,
    );
    await sh(`mount -t tmpfs -o size=256k tmpfs '${fs}'`);
    try {
      const out = join(fs, "restored.db");
      const full = await runCli(["crate", "restore-dump", dump, "-o", out]);
      assert.equal(full.code, 11, full.stderr);
      assert.equal(full.stderr, `vigocli: ${out}: no space left on device\n`);
      assert.deepEqual([...Deno.readDirSync(fs)], []);
      await sh(`mount -o remount,size=4m '${fs}'`);
      const ok = await runCli(["crate", "restore-dump", dump, "-o", out]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await sh(`umount '${fs}'`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "restore-dump into a read-only directory: exit 11 naming the output, not a temporary file",
  ignore: !isRoot,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-dump-ro-" });
    const ro = join(dir, "ro");
    await Deno.mkdir(ro);
    const dump = join(dir, "d.sql");
    await Deno.writeTextFile(dump, "BEGIN TRANSACTION;\nCREATE TABLE t(x);\nCOMMIT;\n");
    await sh(`mount --bind '${ro}' '${ro}' && mount -o remount,bind,ro '${ro}'`);
    try {
      const out = join(ro, "restored.db");
      const r = await runCli(["crate", "restore-dump", dump, "-o", out]);
      assert.equal(r.code, 11, r.stderr);
      assert.equal(r.stderr, `vigocli: ${out}: read-only file system\n`);
    } finally {
      await sh(`umount '${ro}'`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
