/**
 * Our tick lets go of its read transaction only for a blocking checkpoint holding the write lock,
 * not for a writer. A writer does not wait for our read, and unpinned for one we could not stop the
 * application from committing and checkpointing with TRUNCATE straight after: the commit made after
 * our last copy was then only in the database file, and a new generation had to ship it (seen under
 * load in the frequent-TRUNCATE test, when one commit outlasted the probe). The application here is a
 * second real connection in this process; busy_timeout 0 makes its TRUNCATE give up at once where it
 * would wait for our read.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DbConnections } from "../../lib/replicate/db_conn.ts";
import { ShadowDir } from "../../lib/replicate/shadow_wal.ts";
import { WalSync } from "../../lib/replicate/wal_sync.ts";
import { readWalIndexHeader } from "../../lib/sqlite/wal_index.ts";
import { frameSize, WAL_HEADER_SIZE } from "../../lib/sqlite/wal_format.ts";

Deno.test("replicate: a writer holding the write lock is not yielded to; its TRUNCATE right after costs no generation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-yieldw-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("PRAGMA busy_timeout = 0");
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    const insert = app.prepare("INSERT INTO t (v) VALUES (randomblob(100))");
    for (let i = 0; i < 20; i++) insert.run();
    conns = new DbConnections(db);
    const lines: string[] = [];
    const wal = new WalSync(db, new ShadowDir(db), conns, (level, msg, fields) => {
      lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    });
    await wal.begin();
    const generation = wal.state!.generation;

    app.exec("BEGIN IMMEDIATE");
    insert.run();
    await wal.tick();
    const yielded = wal.yielding;
    app.exec("COMMIT");
    const ck = app.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    insert.run();
    await wal.tick();
    await wal.tick();

    assertEquals(wal.state!.generation, generation, `a new generation was started:\n${lines.join("\n")}`);
    assert(!yielded, "the tick let go of its read transaction for a writer");
    assertEquals(ck.busy, 1, "our read kept the TRUNCATE from resetting the WAL");
    const published = readWalIndexHeader(`${db}-shm`)!;
    const st = wal.state!;
    assertEquals([st.header.salt1, st.header.salt2], [published.salt1, published.salt2]);
    assertEquals((st.size - WAL_HEADER_SIZE) / frameSize(st.header.pageSize), published.mxFrame);
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
