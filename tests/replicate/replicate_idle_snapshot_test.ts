/**
 * An idle database keeps its WAL index, and the v0.3 layout names a snapshot by that index alone: a
 * periodic snapshot at an unchanged index would replace the first one and its time (found by review).
 * Here the snapshot interval comes round several times on an idle database: the generation keeps the
 * snapshot it started with, and a restore to a moment between the intervals (by the library and by
 * the real `litestream restore`) finds it and returns exactly the rows committed by then.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";

Deno.test("replicate: an idle database's snapshot is not replaced when the interval comes round", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-idle-snapshot-" });
  const db = `${dir}/app.db`;
  const url = `file://${dir}/replica`;
  const lines: string[] = [];
  await sqliteQuery(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES ('a'), ('b');");
  const r = new Replicator({
    dbPath: db,
    backup: {
      url,
      destination: { scheme: "file" },
      syncIntervalMs: 100,
      snapshotIntervalMs: 400,
      retentionMs: 86_400_000,
    },
    log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields)}`),
  });
  try {
    await r.start();
    await sleep(300);
    await sqliteQuery(db, "INSERT INTO t VALUES ('c')");
    await sleep(500);
    const between = new Date();
    // The interval comes round three times on the idle database; then one more row, so the replica's
    // time span (Litestream restores only inside it) reaches past `between`.
    await sleep(1200);
    await sqliteQuery(db, "INSERT INTO t VALUES ('d')");
    await sleep(500);
    await r.stop();
    const log = lines.join("\n");
    assertEquals((log.match(/snapshot written/g) ?? []).length, 1, log);
    assert((log.match(/snapshot skipped/g) ?? []).length >= 2, log);
    const [gen] = [...Deno.readDirSync(`${dir}/replica/generations`)].map((g) => g.name);
    const snaps = [...Deno.readDirSync(`${dir}/replica/generations/${gen}/snapshots`)].map((s) => s.name);
    assertEquals(snaps, ["00000000.snapshot.lz4"]);

    const ours = await r.restore({ outputPath: `${dir}/ours.db`, timestamp: between });
    assertEquals(ours.generation, gen);
    assertEquals(await sqliteQuery(`${dir}/ours.db`, "SELECT group_concat(v) FROM t"), "a,b,c");
    const ls = await litestreamRestore({ out: `${dir}/ls.db`, url, timestamp: between.toISOString() });
    assertEquals(ls.code, 0, ls.stderr);
    assertEquals(await sqliteQuery(`${dir}/ls.db`, "SELECT group_concat(v) FROM t"), "a,b,c");
  } finally {
    await r.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
