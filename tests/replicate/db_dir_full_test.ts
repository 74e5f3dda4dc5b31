/**
 * The database's own disk full (a real tmpfs holding the database, its WAL and the shadow WAL beside
 * them) after the server committed: the replicator cannot copy those frames to its shadow WAL, logs
 * the failure naming the shadow file and keeps going; once space returns it catches up and the
 * replica restores to exactly the database's rows. Mounting needs root:
 * without it the test is skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb, rowIds, startSqliteWriter, startVigoReplicate } from "../helpers/litestream.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("db_dir_full_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name: "database disk full: replicate names the shadow WAL it cannot write, then catches up losing nothing",
  ignore: !isRoot,
  async fn() {
    const fx = await makeServerRoot();
    const dbDir = join(fx.root, "dbfs");
    await Deno.mkdir(dbDir);
    await sh(`mount -t tmpfs -o size=16m tmpfs '${dbDir}'`);
    const db = join(dbDir, "vigo.db");
    await createWriterDb(db);
    await Deno.writeTextFile(
      fx.serverYaml,
      `database:\n  driver: sqlite\n  path: ${db}\nbackup:\n  url: file://${fx.root}/replica\n  sync_interval: 100ms\n`,
    );
    const rep = startVigoReplicate(fx.serverYaml, fx.root);
    try {
      await rep.waitFor(/replication started/, 30_000);
      // Paused while the server commits and its disk then fills: the frames are in the WAL, and there
      // is no room left to copy them to the shadow WAL.
      Deno.kill(rep.child.pid, "SIGSTOP");
      await startSqliteWriter(db, { maxTx: 200, payload: 2000 }).wait();
      await sh(`dd if=/dev/zero of='${dbDir}/filler' bs=4k 2>/dev/null || true`);
      Deno.kill(rep.child.pid, "SIGCONT");
      await rep.waitFor(/\.vigo\.db-vigocli\/\S+: no space left on device/, 30_000);
      await Deno.remove(join(dbDir, "filler"));
      await rep.waitFor(/replication recovered/, 60_000);
      assert.equal(await rep.stop(), 0, rep.output());
      const out = join(fx.root, "final.db");
      const r = await runCli(["backup", "replica", "restore", "-o", out, ...fx.flags]);
      assert.equal(r.code, 0, r.stderr);
      const want = await rowIds(db);
      assert.equal(want.length, 200);
      assert.deepEqual(await rowIds(out), want);
    } finally {
      await rep.kill();
      await sh(`umount '${dbDir}'`);
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});
