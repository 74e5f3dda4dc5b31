/**
 * - The database file is replaced under the replicator (a restore moved into place): it notices the
 *   new inode, starts a new generation with a fresh snapshot, and a restore of "latest" — by
 *   Litestream and by us — picks the new generation (not the old one: Litestream #631, #627).
 * - Point-in-time restore (Litestream #564): with the replica quiet around T, restoring as of T gives
 *   exactly the rows committed before T, from both restores.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { runCli } from "../helpers/cli.ts";
import {
  assertReplicaContinuous,
  assertRows,
  killReplicators,
  makeRoot,
  startReplicate,
} from "./replicate_env.ts";

Deno.test("replicate: database file replaced under us starts a new generation", async () => {
  const r = await makeRoot({ syncInterval: "500ms" });
  try {
    const w1 = startSqliteWriter(r.db, { txPerSecond: 200, maxTx: 400 });
    await w1.waitFor(/committed 1 /);
    const repl = await startReplicate(r);
    assertEquals((await w1.child.status).code, 0);
    await w1.stop();
    await sleep(1500);

    // Someone moves another database into place (say, a restored copy), with its own rows.
    const other = `${r.root}/other.db`;
    await sqliteQuery(
      other,
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, payload BLOB);" +
        "WITH RECURSIVE n(i) AS (SELECT 100001 UNION ALL SELECT i + 1 FROM n WHERE i < 100050) " +
        "INSERT INTO t SELECT i, 0, randomblob(50) FROM n;",
    );
    for (const s of ["-wal", "-shm"]) await Deno.remove(`${r.db}${s}`).catch(() => {});
    await Deno.rename(other, r.db);
    const w2 = startSqliteWriter(r.db, { txPerSecond: 200, maxTx: 200 });
    await repl.waitFor(/new generation.*database file replaced/, 20_000);
    assertEquals((await w2.child.status).code, 0);
    await w2.stop();
    await sleep(1200);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());

    const gens = await assertReplicaContinuous(r.replicaDir);
    assertEquals(gens.length, 2, "old and new generation");
    const want = [...Array(50).keys()].map((i) => 100001 + i).concat(w2.committed().map((c) => c.id));
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, want, "litestream restore of the replaced database");
    const ours = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", `${r.root}/ours.db`]);
    assertEquals(ours.code, 0, ours.stderr);
    await assertRows(`${r.root}/ours.db`, want, "vigocli restore of the replaced database");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("replicate: point-in-time restore returns exactly the rows committed before T", async () => {
  const r = await makeRoot({ syncInterval: "300ms" });
  try {
    const w1 = startSqliteWriter(r.db, { txPerSecond: 300, maxTx: 600 });
    await w1.waitFor(/committed 1 /);
    const repl = await startReplicate(r);
    assertEquals((await w1.child.status).code, 0);
    await w1.stop();
    await sleep(2000); // uploaded, then quiet
    const t = new Date();
    await sleep(2000);
    const w2 = startSqliteWriter(r.db, { txPerSecond: 300, maxTx: 600 });
    assertEquals((await w2.child.status).code, 0);
    await w2.stop();
    await sleep(1500);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());

    const before = w1.committed().filter((c) => c.ms < t.getTime()).map((c) => c.id);
    assertEquals(before.length, 600);
    assert(w2.committed().every((c) => c.ms > t.getTime()));
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url, timestamp: t.toISOString() });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, before, "litestream restore -timestamp T");
    const pit = await runCli(
      [
        "backup",
        "replica",
        "restore",
        "--url",
        r.url,
        "-o",
        `${r.root}/ours.db`,
        "--timestamp",
        t.toISOString(),
      ],
    );
    assertEquals(pit.code, 0, pit.stderr);
    await assertRows(`${r.root}/ours.db`, before, "vigocli restore --timestamp T");
    // And "latest" has both batches.
    const all = before.concat(w2.committed().map((c) => c.id));
    const latest = await runCli([
      "backup",
      "replica",
      "restore",
      "--url",
      r.url,
      "-o",
      `${r.root}/latest.db`,
    ]);
    assertEquals(latest.code, 0, latest.stderr);
    await assertRows(`${r.root}/latest.db`, all, "vigocli restore latest");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});
