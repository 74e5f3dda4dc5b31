/**
 * The application checkpoints on its own while we replicate.
 * - TRUNCATE every 400 transactions: every committed row still reaches the replica.
 * - RESTART (Litestream #724): SQLite's RESTART waits for readers while holding the write lock, so a
 *   replicator that never lets go of its read transaction freezes the application for its whole
 *   busy_timeout (10 s here). We hand the lock over within a sync interval: the longest pause
 *   between two commits stays far below the busy timeout, and no row is lost.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import {
  assertReplicaContinuous,
  assertRows,
  killReplicators,
  makeRoot,
  startReplicate,
} from "./replicate_env.ts";

async function run(mode: "TRUNCATE" | "RESTART"): Promise<{ maxGapMs: number; log: string }> {
  const r = await makeRoot({ syncInterval: "1s" });
  const writer = startSqliteWriter(r.db, { txPerSecond: 300, checkpointEvery: 400, checkpointMode: mode });
  try {
    await writer.waitFor(/committed 1 /);
    const repl = await startReplicate(r);
    await sleep(8000);
    assertEquals(await writer.stop(), 0);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    const committed = writer.committed();
    let maxGapMs = 0;
    for (let i = 1; i < committed.length; i++) {
      maxGapMs = Math.max(maxGapMs, committed[i].ms - committed[i - 1].ms);
    }
    await assertReplicaContinuous(r.replicaDir);
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, committed.map((c) => c.id), `litestream restore (app ${mode})`);
    console.error(
      `${mode}: max commit gap ${maxGapMs} ms, generations ${
        (repl.output().match(/new generation/g) ?? []).length
      }, yields/restarts ${(repl.output().match(/wal restarted/g) ?? []).length}`,
    );
    return { maxGapMs, log: repl.output() };
  } finally {
    await killReplicators();
    await writer.kill();
    await Deno.remove(r.root, { recursive: true });
  }
}

Deno.test("replicate: application runs wal_checkpoint(TRUNCATE) itself, no row lost", async () => {
  await run("TRUNCATE");
});

Deno.test("replicate: application RESTART checkpoint is not frozen by our read transaction (#724)", async () => {
  const { maxGapMs, log } = await run("RESTART");
  assert(maxGapMs < 4000, `longest pause between commits ${maxGapMs} ms (busy_timeout is 10000 ms):\n${log}`);
});
