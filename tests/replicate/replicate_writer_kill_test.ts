/**
 * A native writer (python3's sqlite3 module) SIGKILLed mid-commit, again and again, while one
 * `backup replicate` runs. A killed commit may leave checksum-valid frames in the WAL that SQLite
 * never acknowledged (the WAL-index's mxFrame stops before them; the next writer overwrites them):
 * the replicator must not ship them. After the run, our restore and the real `litestream restore`
 * of our replica each hold exactly what the database holds.
 *
 * Default: 20 kills; `VIGO_LONG_TESTS=1`: 100.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { background, integrityCheck, litestreamRestore, sleep } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

const KILLS = Deno.env.get("VIGO_LONG_TESTS") === "1" ? 100 : 20;

// Multi-page transactions and synchronous=FULL: the WAL is fsynced after the frames are written and
// before the WAL-index header is updated, which makes "frames on disk, commit not acknowledged" the
// likely state at the moment of the kill.
const WRITER = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, payload BLOB)")
db.execute("CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, n INTEGER)")
print("ready", flush=True)
while True:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO t (payload) VALUES (randomblob(12000))")
    db.execute("INSERT INTO u (n) VALUES (1)")
    db.execute("COMMIT")
`;

/** Per-table row count and sum of rowids, as one comparable string. */
async function fingerprint(db: string): Promise<string> {
  return await sqliteQuery(
    db,
    "SELECT 't', COUNT(*), COALESCE(SUM(id), 0) FROM t UNION ALL SELECT 'u', COUNT(*), COALESCE(SUM(id), 0) FROM u",
  );
}

Deno.test(`replicate: native writer SIGKILLed mid-commit ${KILLS} times, both restores equal the database`, async () => {
  const r = await makeRoot({ syncInterval: "200ms" });
  try {
    const first = background("python3", ["-c", WRITER, r.db]);
    await first.waitFor(/ready/);
    const repl = await startReplicate(r);
    await first.kill();
    for (let k = 0; k < KILLS; k++) {
      const w = background("python3", ["-c", WRITER, r.db]);
      await w.waitFor(/ready/);
      await sleep(80 + Math.floor(Math.random() * 220));
      await w.kill();
    }
    await sleep(800);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());

    // Nothing shipped was wrong, so nothing justified a new generation.
    const gens = await Array.fromAsync(Deno.readDir(`${r.replicaDir}/generations`));
    assertEquals(gens.length, 1, `one generation:\n${repl.output()}`);

    const want = await fingerprint(r.db);
    assert(Number(want.split("\n")[0].split("|")[1]) > KILLS, `rows were written: ${want}`);
    const ours = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", `${r.root}/ours.db`]);
    assertEquals(ours.code, 0, ours.stderr);
    assertEquals(await integrityCheck(`${r.root}/ours.db`), "ok");
    assertEquals(await fingerprint(`${r.root}/ours.db`), want, "backup replica restore");
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
    assertEquals(ls.code, 0, ls.stderr);
    assertEquals(await fingerprint(`${r.root}/ls.db`), want, "litestream restore");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});
