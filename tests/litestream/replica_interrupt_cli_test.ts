/**
 * An interrupted `backup replica restore` (SIGINT or SIGTERM while its temp database is being written)
 * exits 130 and leaves nothing next to the output: no hidden temp file the size of the database, no
 * -wal beside it, no output. Before stop 26 it died by the signal (exit 143 for SIGTERM) and left both.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { lz4CompressStream } from "../../lib/codec/lz4/lz4.ts";
import { snapshotKey } from "../../lib/litestream/paths.ts";
import { runCli } from "../helpers/cli.ts";
import { interruptAt, names } from "../helpers/interrupt.ts";

/** A replica holding one snapshot of a ~100 MB database (random rows), as Litestream lays it out. */
async function bigReplica(dir: string): Promise<string> {
  const db = join(dir, "source.db");
  const conn = new DatabaseSync(db);
  conn.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 25000)
    INSERT INTO t(payload) SELECT randomblob(4000) FROM c;`);
  conn.close();
  const replica = join(dir, "replica");
  const key = snapshotKey("0123456789abcdef", 0);
  await Deno.mkdir(join(replica, key, ".."), { recursive: true });
  const src = await Deno.open(db);
  const out = await Deno.open(join(replica, key), { write: true, create: true });
  await src.readable.pipeThrough(lz4CompressStream()).pipeTo(out.writable);
  return replica;
}

/** `backup replica restore` of `replica` into `<outDir>/out.db`. */
const restoreArgs = (replica: string, outDir: string) => [
  "backup",
  "replica",
  "restore",
  "--url",
  `file://${replica}`,
  "-o",
  join(outDir, "out.db"),
];

Deno.test("SIGINT or SIGTERM during replica restore: exit 130, the temp database and its -wal removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-replica-interrupt-" });
  try {
    const replica = await bigReplica(dir);
    const outDir = join(dir, "restored");
    await Deno.mkdir(outDir);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      await interruptAt(restoreArgs(replica, outDir), outDir, ".out.db.tmp-", signal);
      assert.deepEqual(names(outDir), [], signal);
    }
    // The same replica restores when left alone, so the signals above are what stopped it.
    const done = await runCli(restoreArgs(replica, outDir));
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(names(outDir), ["out.db"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
