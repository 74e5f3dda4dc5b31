/**
 * A replica directory that fills up (a real tmpfs, too small for the first snapshot): replicate keeps
 * running, logs the failure naming the path, and the server keeps writing; when space returns (the
 * tmpfs is remounted bigger) replication resumes by itself and, after a clean stop, the replica restores
 * to exactly the database's rows. A new generation whose snapshot is refused (its directory cannot be
 * made) gets that snapshot once the replica takes writes again, and restores to the latest rows.
 * A replica restore into a full or read-only directory names the output it could not write.
 * Mounting and chattr need root: without it the tests are skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import {
  createWriterDb,
  rowIds,
  sleep,
  startSqliteWriter,
  startVigoReplicate,
} from "../helpers/litestream.ts";
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

Deno.test({
  name:
    "a new generation's snapshot refused by the replica is taken again, not skipped, once it can be stored",
  ignore: !isRoot,
  async fn() {
    const fx = await makeServerRoot();
    const db = join(fx.root, "db/writer.db");
    await createWriterDb(db);
    const replica = join(fx.root, "replica");
    const generations = join(replica, "generations");
    await Deno.writeTextFile(
      fx.serverYaml,
      `database:\n  driver: sqlite\n  path: ${db}\nbackup:\n  url: file://${replica}\n  sync_interval: 100ms\n`,
    );
    const rep = startVigoReplicate(fx.serverYaml, fx.root);
    let writer = startSqliteWriter(db, { txPerSecond: 100, maxTx: 100 });
    try {
      await rep.waitFor(/replication started/, 30_000);
      await writer.wait();
      // What a nearly full replica does to the larger writes: the lease and the old generation's WAL
      // still go up, the new generation's snapshot cannot.
      await sh(`chattr +i '${generations}'`);
      const replacement = join(fx.root, "db/replacement.db");
      await createWriterDb(replacement);
      await sqliteQuery(replacement, "INSERT INTO t(id, ts) VALUES (1000, 0);");
      // Replaced as an operator would, with the server stopped: the old WAL goes with the old file.
      for (const ext of ["-wal", "-shm"]) await Deno.remove(db + ext).catch(() => {});
      await Deno.rename(replacement, db);
      writer = startSqliteWriter(db, { txPerSecond: 100 });
      await rep.waitFor(/database file replaced/, 30_000);
      await rep.waitFor(/\/snapshots\S*: permission denied/, 30_000);
      await rep.waitFor(/retry=3 /, 30_000);
      await sh(`chattr -i '${generations}'`);
      await rep.waitFor(/replication recovered/, 60_000);
      await writer.stop();
      assert.equal(await rep.stop(), 0, rep.output());
      const out = join(fx.root, "final.db");
      const r = await runCli(["backup", "replica", "restore", "-o", out, ...fx.flags]);
      assert.equal(r.code, 0, r.stderr);
      // The failed snapshot was never taken again: the new generation's WAL went up without one, and a
      // restore fell back to the old generation, the replaced database's rows.
      const want = await rowIds(db);
      assert.equal(want[0], 1000);
      assert.deepEqual(await rowIds(out), want);
    } finally {
      await sh(`chattr -i '${generations}' 2>/dev/null || true`);
      await writer.kill();
      await rep.kill();
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});

Deno.test({
  name: "replica restore into a full or read-only directory: exit 11 naming the output, nothing left",
  ignore: !isRoot,
  async fn() {
    const fx = await makeServerRoot({ rows: 2000 });
    const replica = join(fx.root, "replica");
    await Deno.writeTextFile(
      fx.serverYaml,
      `database:\n  driver: sqlite\nbackup:\n  url: file://${replica}\n`,
    );
    const rep = startVigoReplicate(fx.serverYaml, fx.root);
    const small = join(fx.root, "small"), ro = join(fx.root, "ro");
    await Deno.mkdir(small);
    await Deno.mkdir(ro);
    try {
      await rep.waitFor(/replication started/, 30_000);
      assert.equal(await rep.stop(), 0, rep.output());
      await sh(`mount -t tmpfs -o size=64k tmpfs '${small}'`);
      await sh(`mount --bind '${small}' '${ro}' && mount -o remount,bind,ro '${ro}'`);
      // Both named the temporary file (gone by then), and on Bun the read-only one came from its cleanup.
      for (const [dir, what] of [[small, "no space left on device"], [ro, "read-only file system"]]) {
        const out = join(dir, "restored.db");
        const r = await runCli(["backup", "replica", "restore", "-o", out, ...fx.flags]);
        assert.equal(r.code, 11, r.stderr);
        assert.match(r.stderr, new RegExp(`^vigocli: ${out}: ${what}$`, "m"));
        assert.deepEqual([...Deno.readDirSync(small)], []);
      }
    } finally {
      await rep.kill();
      await sh(`umount '${ro}' 2>/dev/null; umount '${small}' 2>/dev/null; true`);
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});
