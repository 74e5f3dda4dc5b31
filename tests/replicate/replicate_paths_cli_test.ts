/**
 * Where the replicator keeps its files (found by review):
 * - a database path that is a symbolic link replicates: SQLite keeps the -wal and -shm beside the file
 *   the link points to, and so do the replicator's WAL reads, lock and shadow directory (it used to
 *   look for `<link>-wal`, log "the WAL has no valid header" every tick and replicate nothing);
 * - snapshot copies a killed replicator left in its shadow directory's tmp/ (each the size of the
 *   database, never swept: 20 GB in one stress run) are removed when the next one starts.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { assertRows, killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

Deno.test("replicate: a database path that is a symbolic link replicates, beside the file it points to", async () => {
  const r = await makeRoot({ syncInterval: "300ms" });
  try {
    const real = `${r.root}/real/vigo.db`;
    await Deno.mkdir(`${r.root}/real`);
    await createWriterDb(real);
    Deno.symlinkSync(real, r.db);
    const repl = await startReplicate(r);
    const w = startSqliteWriter(r.db, { txPerSecond: 200, maxTx: 100 });
    assertEquals((await w.child.status).code, 0);
    await w.stop();
    await sleep(1500);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    assert(!/no valid header/.test(repl.output()), repl.output());
    assert(existsSync(`${r.root}/real/.vigo.db-vigocli`), "the shadow directory lies beside the real file");
    const out = `${r.root}/restored.db`;
    const restored = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", out]);
    assertEquals(restored.code, 0, restored.stderr);
    await assertRows(out, w.committed().map((c) => c.id), "restore of the database behind the link");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("replicate: snapshot copies a killed replicator left behind are removed at the next start", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const tmp = `${r.root}/db/.vigo.db-vigocli/tmp`;
    await Deno.mkdir(tmp, { recursive: true });
    for (const f of ["snapshot-0a1b2c3d4e5f.db", "snapshot-0a1b2c3d4e5f.db-journal"]) {
      await Deno.writeFile(`${tmp}/${f}`, new Uint8Array(1 << 20));
    }
    const repl = await startReplicate(r);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    const left = existsSync(tmp) ? [...Deno.readDirSync(tmp)].map((e) => e.name) : [];
    assertEquals(left, [], "the dead run's snapshot copies are gone");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});
