/**
 * Snapshots and retention through the library face (`Replicator`): with a 1 s snapshot interval,
 * frequent checkpoints (a new WAL index about every second) and a 2 s retention, old snapshots and the WAL before them are pruned as the replicator runs, one log
 * line per pruning, and what remains still restores every committed row (Litestream's restore and
 * `Replicator.restore()`).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";
import { assertReplicaContinuous, assertRows } from "./replicate_env.ts";

Deno.test("replicate: periodic snapshots, retention prunes, restore still complete", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-retention-" });
  const db = `${dir}/app.db`;
  const url = `file://${dir}/replica`;
  const lines: string[] = [];
  const writer = startSqliteWriter(db, { txPerSecond: 200 });
  try {
    await writer.waitFor(/committed 1 /);
    const r = new Replicator({
      dbPath: db,
      backup: {
        url,
        destination: { scheme: "file" },
        retentionMs: 2000,
        syncIntervalMs: 250,
        snapshotIntervalMs: 1000,
      },
      retentionCheckMs: 500,
      // Checkpoint (and so start a new WAL index) often, so snapshots land on many indices.
      checkpoint: { minFrames: 300 },
      log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields)}`),
    });
    await r.start();
    // A new WAL index, and so a snapshot, comes once the writer has filled 300 frames: on a loaded
    // machine that takes longer, so wait for the snapshots and a pruning rather than a fixed time.
    const count = (re: RegExp) => (lines.join("\n").match(re) ?? []).length;
    const deadline = Date.now() + 90_000;
    while ((count(/snapshot written/g) < 4 || count(/retention pruned/g) < 1) && Date.now() < deadline) {
      await sleep(100);
    }
    assertEquals(await writer.stop(), 0);
    await r.stop();
    const log = lines.join("\n");
    assert(count(/snapshot written/g) >= 4, log);
    assert(count(/retention pruned/g) >= 1, log);
    const snaps = [...Deno.readDirSync(`${dir}/replica/generations`)].flatMap((
      g,
    ) => [...Deno.readDirSync(`${dir}/replica/generations/${g.name}/snapshots`)]);
    assert(snaps.length <= 5, `${snaps.length} snapshots remain after retention`);
    await assertReplicaContinuous(`${dir}/replica`);
    const ids = writer.committed().map((c) => c.id);
    const ls = await litestreamRestore({ out: `${dir}/ls.db`, url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${dir}/ls.db`, ids, "litestream restore after retention");
    await r.restore({ outputPath: `${dir}/ours.db` });
    await assertRows(`${dir}/ours.db`, ids, "Replicator.restore after retention");
  } finally {
    await writer.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
