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
import { runCli, spawnCli } from "../helpers/cli.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

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

/** Starts the restore, sends `signal` once its temp file exists, and checks how it ended. */
async function interrupt(replica: string, outDir: string, signal: Deno.Signal): Promise<void> {
  const child = spawnCli(restoreArgs(replica, outDir));
  const deadline = Date.now() + 60_000;
  while (!names(outDir).some((n) => n.startsWith(".out.db.tmp-")) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill(signal);
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, `${signal}: ${stderr}`);
  assert.match(stderr, /interrupted/);
  assert.deepEqual(names(outDir), [], signal);
}

Deno.test("SIGINT or SIGTERM during replica restore: exit 130, the temp database and its -wal removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-replica-interrupt-" });
  try {
    const replica = await bigReplica(dir);
    const outDir = join(dir, "restored");
    await Deno.mkdir(outDir);
    await interrupt(replica, outDir, "SIGINT");
    await interrupt(replica, outDir, "SIGTERM");
    // The same replica restores when left alone, so the signals above are what stopped it.
    const done = await runCli(restoreArgs(replica, outDir));
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(names(outDir), ["out.db"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
