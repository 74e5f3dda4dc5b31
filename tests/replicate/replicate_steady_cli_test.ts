/**
 * The main scenario: a separate writer process commits ≥ 500 transactions per second while
 * `vigocli backup replicate` runs (25 s by default, 60 s with VIGO_LONG_TESTS=1); then SIGTERM. The
 * replicator must exit 0 after flushing, and both the real `litestream restore` (v0.3.13) and our
 * restore must produce every committed row.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { runCli } from "../helpers/cli.ts";
import {
  assertReplicaContinuous,
  assertRows,
  killReplicators,
  makeRoot,
  startReplicate,
  STEADY_SECONDS,
} from "./replicate_env.ts";

Deno.test(`replicate: steady writer ≥500 tx/s for ${STEADY_SECONDS}s, SIGTERM, both restores have every row`, async () => {
  const r = await makeRoot({ syncInterval: "1s" });
  const writer = startSqliteWriter(r.db, { txPerSecond: 600, payload: 64 });
  try {
    await writer.waitFor(/committed 1 /);
    const t0 = performance.now();
    const lap = (what: string) => console.error(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    const repl = await startReplicate(r);
    lap("started");
    await sleep(STEADY_SECONDS * 1000);
    assertEquals(await writer.stop(), 0);
    lap("writer stopped");
    const committed = writer.committed();
    const rate = committed.length / ((committed[committed.length - 1].ms - committed[0].ms) / 1000);
    assert(rate >= 500, `writer reached ${rate.toFixed(0)} tx/s (need ≥ 500)`);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    lap("replicator stopped");
    assert(/replication stopped/.test(repl.output()), "replicator logs its flush");
    assert(/wal segment uploaded/.test(repl.output()), "one line per uploaded segment");
    const ids = committed.map((c) => c.id);

    await assertReplicaContinuous(r.replicaDir);
    lap("continuity checked");
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, ids, "litestream restore");

    lap("litestream restored");
    const ours = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", `${r.root}/ours.db`]);
    assertEquals(ours.code, 0, ours.stderr);
    await assertRows(`${r.root}/ours.db`, ids, "vigocli restore");
    lap("ours restored");
  } finally {
    await killReplicators();
    await writer.kill();
    await Deno.remove(r.root, { recursive: true });
  }
});
