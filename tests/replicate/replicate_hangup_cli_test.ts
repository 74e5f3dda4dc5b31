/**
 * SIGHUP (a terminal closed on a replicator in the foreground) stops `backup replicate` as SIGINT and
 * SIGTERM do: the rows committed since the last sync are flushed to the replica, 'replication stopped'
 * is logged and the exit is 0. Before, the runtime's default ended it (killed by SIGHUP, no word) and
 * the rows of its last sync interval were not shipped. The sync interval is 60 s: only the final
 * flush can ship the rows written after the first sync.
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { createWriterDb, rowIds } from "../helpers/litestream.ts";
import { runCli } from "../helpers/cli.ts";
import { killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

async function sql(db: string, statement: string): Promise<void> {
  const out = await new Deno.Command("sqlite3", { args: [db, statement], stdout: "null" }).output();
  if (!out.success) throw new Error(`sqlite3 ${db}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("replicate: SIGHUP flushes the last rows and exits 0, as SIGTERM does", async () => {
  const r = await makeRoot({ syncInterval: "60s" });
  try {
    await createWriterDb(r.db);
    await sql(r.db, "INSERT INTO t (id, ts) VALUES (1, 1);");
    const repl = await startReplicate(r);
    try {
      await sql(r.db, "INSERT INTO t (id, ts) VALUES (2, 2); INSERT INTO t (id, ts) VALUES (3, 3);");
      assertEquals(await repl.stop("SIGHUP"), 0, repl.output());
      assertMatch(repl.output(), /replication stopped/);
    } finally {
      await killReplicators();
    }
    const out = `${r.root}/restored.db`;
    const restored = await runCli([
      "backup",
      "replica",
      "restore",
      "-o",
      out,
      "--server-yaml",
      r.yaml,
      "--server-root",
      r.root,
    ]);
    assertEquals(restored.code, 0, restored.stderr);
    assertEquals(await rowIds(out), [1, 2, 3]);
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});
