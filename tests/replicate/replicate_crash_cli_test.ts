/**
 * `kill -9` of the replicator mid-run: what it uploaded so far restores to a consistent prefix of
 * the commits; a restarted replicator picks up where the replica ends (same generation, no gap —
 * Litestream's "missing initial wal segment", #224/#535/#805) and, after SIGTERM, the replica holds
 * every committed row.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, rowIds, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import {
  assertPrefix,
  assertReplicaContinuous,
  assertRows,
  kill9,
  makeRoot,
  startReplicate,
} from "./replicate_env.ts";

Deno.test("replicate: kill -9 mid-run, restart, replica consistent then complete", async () => {
  const r = await makeRoot({ syncInterval: "500ms" });
  const writer = startSqliteWriter(r.db, { txPerSecond: 300 });
  try {
    await writer.waitFor(/committed 1 /);
    const first = await startReplicate(r);
    await sleep(4000);
    await kill9(first);
    await sleep(1500); // the application keeps writing while no replicator runs

    // What was uploaded before the crash restores to a consistent prefix.
    const mid = await litestreamRestore({ out: `${r.root}/mid.db`, url: r.url });
    assertEquals(mid.code, 0, mid.stderr);
    const midRows = await rowIds(`${r.root}/mid.db`);
    assert(midRows.length > 300, `crash-time restore has ${midRows.length} rows`);
    assertPrefix(midRows, "restore after kill -9");

    const second = await startReplicate(r);
    await sleep(3000);
    assertEquals(await writer.stop(), 0);
    assertEquals(await second.stop("SIGTERM"), 0, second.output());
    assert(!/new generation/.test(second.output()), `restart continued the generation:\n${second.output()}`);

    const gens = await assertReplicaContinuous(r.replicaDir);
    assertEquals(gens.length, 1, "one generation");
    const ids = writer.committed().map((c) => c.id);
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, ids, "litestream restore after restart");
  } finally {
    await writer.stop();
    await Deno.remove(r.root, { recursive: true });
  }
});
