/**
 * A replica directory that fills up (a real tmpfs, too small for the first snapshot): replicate keeps
 * running, logs the failure naming the path, and the server keeps writing; when space returns (the
 * tmpfs is remounted bigger) replication resumes by itself and, after a clean stop, the replica restores
 * to exactly the database's rows. Mounting needs root: without it the test is skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { rowIds, sleep, startVigoReplicate } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { tempFilesBelow } from "../crash/crash_harness.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("replica_dir_full_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name: "replica dir full: replicate names it and keeps going; once space returns nothing is lost",
  ignore: !isRoot,
  async fn() {
    const fx = await makeServerRoot({ rows: 2000 });
    const replica = join(fx.root, "replica");
    await Deno.mkdir(replica);
    await sh(`mount -t tmpfs -o size=200k tmpfs '${replica}'`);
    await Deno.writeTextFile(
      fx.serverYaml,
      `database:\n  driver: sqlite\nbackup:\n  url: file://${replica}\n  sync_interval: 100ms\n`,
    );
    const rep = startVigoReplicate(fx.serverYaml, fx.root);
    try {
      await rep.waitFor(new RegExp(`${replica}/\\S+: no space left on device`), 60_000);
      // The server goes on writing while the replica cannot take anything.
      await sqliteQuery(fx.db, "INSERT INTO t(v, n) SELECT randomblob(300), id FROM t LIMIT 500;");
      await sh(`mount -o remount,size=64m '${replica}'`);
      await sqliteQuery(fx.db, "INSERT INTO t(v, n) SELECT randomblob(300), id FROM t LIMIT 100;");
      // Resumed by itself: a restore taken while it runs catches up with the database.
      const want = await rowIds(fx.db);
      const out = join(fx.root, "probe.db");
      const deadline = Date.now() + 60_000;
      let got: number[] = [];
      while (Date.now() < deadline) {
        await Deno.remove(out).catch(() => {});
        const r = await runCli(["backup", "replica", "restore", "-o", out, ...fx.flags]);
        if (r.code === 0) got = await rowIds(out);
        if (got.length === want.length) break;
        await sleep(500);
      }
      assert.equal(got.length, want.length, "replication did not resume after space returned");
      assert.equal(await rep.stop(), 0, rep.output());
      await Deno.remove(out);
      const final = join(fx.root, "final.db");
      const r = await runCli(["backup", "replica", "restore", "-o", final, ...fx.flags]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await rowIds(final), await rowIds(fx.db));
      assert.deepEqual(tempFilesBelow(replica), []);
    } finally {
      await rep.kill();
      await sh(`umount '${replica}'`);
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});
