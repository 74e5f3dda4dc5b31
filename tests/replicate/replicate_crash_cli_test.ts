/**
 * `kill -9` of the replicator mid-run: what it uploaded so far restores to a consistent prefix of
 * the commits; a restarted replicator picks up where the replica ends (same generation and no gap —
 * Litestream's "missing initial wal segment", #224/#535/#805 — unless the WAL was reset while it was
 * down) and, after SIGTERM, the replica holds every committed row.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, rowIds, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import {
  assertPrefix,
  assertReplicaContinuous,
  assertRows,
  kill9,
  killReplicators,
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
    // More than 300 rows uploaded before the crash, whatever the machine's load: a loaded machine's
    // writer, behind its rate, had 277 uploaded after the fixed 4 s. Seen in a restore (at most 120 s).
    await writer.waitFor(/^committed 301 /m, 120_000);
    for (const deadline = Date.now() + 120_000;; await sleep(200)) {
      await Deno.remove(`${r.root}/probe.db`).catch(() => {});
      const probe = await litestreamRestore({ out: `${r.root}/probe.db`, url: r.url });
      if (probe.code === 0 && (await rowIds(`${r.root}/probe.db`)).length > 300) break;
      assert(Date.now() < deadline, `no 300 rows uploaded in 120 s:\n${first.output()}`);
    }
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
    // The restart continues the generation unless the application's own checkpoints reset the WAL
    // while no replicator ran (then continuity cannot be proven and a new generation is right).
    const reason = /new generation.*reason="([^"]*)"/.exec(second.output())?.[1];
    console.error(`restart: ${reason ?? "continued the generation"}`);
    assert(
      reason === undefined || /wal/.test(reason),
      `restart continued or gave a WAL reason:\n${second.output()}`,
    );

    const gens = await assertReplicaContinuous(r.replicaDir);
    assertEquals(gens.length, reason === undefined ? 1 : 2, "generations");
    const ids = writer.committed().map((c) => c.id);
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, ids, "litestream restore after restart");
  } finally {
    await killReplicators();
    await writer.kill();
    await Deno.remove(r.root, { recursive: true });
  }
});
