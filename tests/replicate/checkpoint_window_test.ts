/**
 * Our checkpoint lets go of the write lock between its PASSIVE run and the commit that restarts the
 * WAL. An application writer fast enough to restart the WAL, fill it and checkpoint it inside that
 * window, then restart it again, left a WAL we could not prove lossless: a new generation (seen once
 * in the suite's writer-kill test). The window is opened here on purpose, with a real second SQLite
 * connection as the application, at the moment the replicator's own connection asks for the lock again.
 * The second test opens the window before it: the checkpoint's first wait for the write lock, which
 * ran unpinned until stop 24 (the writer-kill test hit that one in stop 24's suite).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DbConnections } from "../../lib/replicate/db_conn.ts";
import { ShadowDir } from "../../lib/replicate/shadow_wal.ts";
import { WalSync } from "../../lib/replicate/wal_sync.ts";
import { readWalIndexHeader } from "../../lib/sqlite/wal_index.ts";
import { frameSize, WAL_HEADER_SIZE } from "../../lib/sqlite/wal_format.ts";

/** Enough 4 KiB rows to pass SQLite's default autocheckpoint threshold of 1000 frames. */
function fillWal(app: DatabaseSync, from: number): number {
  const insert = app.prepare("INSERT INTO t (id, v) VALUES (?, randomblob(3000))");
  let id = from;
  for (let tx = 0; tx < 40; tx++) {
    app.exec("BEGIN");
    for (let i = 0; i < 30; i++) insert.run(id++);
    app.exec("COMMIT");
  }
  return id;
}

Deno.test("replicate: an application restarting the WAL twice inside our checkpoint costs no generation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ckwin-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  const lines: string[] = [];
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    let next = fillWal(app, 1);
    conns = new DbConnections(db);
    const wal = new WalSync(db, new ShadowDir(db), conns, (level, msg, fields) => {
      lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    });
    await wal.begin();
    const generation = wal.state!.generation;

    let checkpointDone = false;
    let raced = 0;
    const c = conns;
    const passive = c.checkpointPassive.bind(c);
    c.checkpointPassive = () => {
      const r = passive();
      checkpointDone = r.ran && r.log === r.checkpointed;
      return r;
    };
    const tryLock = c.tryLock.bind(c);
    c.tryLock = (ms: number) => {
      if (checkpointDone && !c.locked) {
        checkpointDone = false;
        // Restart the WAL, fill it past the autocheckpoint threshold (the application's own
        // checkpoint runs at that commit), and commit once more: a second restart, unless something
        // kept that checkpoint from copying the new WAL back.
        next = fillWal(app, next);
        app.exec(`INSERT INTO t (id, v) VALUES (${next++}, x'00')`);
        raced++;
      }
      return tryLock(ms);
    };

    assertEquals(await wal.checkpoint(false), true);
    assertEquals(raced, 1, "the window was opened");
    await wal.tick();
    assertEquals(
      wal.state!.generation,
      generation,
      `a new generation was started:\n${lines.join("\n")}`,
    );
    assert(lines.some((l) => l.startsWith("INFO wal restarted")), lines.join("\n"));

    // The shadow's current index holds exactly the frames SQLite has committed in the WAL it follows.
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

Deno.test("replicate: an application restarting the WAL twice while our checkpoint waits for the lock costs no generation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ckwait-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  const lines: string[] = [];
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    let next = fillWal(app, 1);
    conns = new DbConnections(db);
    const wal = new WalSync(db, new ShadowDir(db), conns, (level, msg, fields) => {
      lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    });
    await wal.begin();
    const generation = wal.state!.generation;

    // The checkpoint's first request for the write lock is where the application gets in: two fills
    // past its autocheckpoint threshold and one more commit, i.e. two WAL restarts unless our read
    // transaction keeps its checkpoints from copying the whole WAL back.
    let armed = true;
    const c = conns;
    const tryLock = c.tryLock.bind(c);
    c.tryLock = (ms: number) => {
      if (armed) {
        armed = false;
        next = fillWal(app, next);
        next = fillWal(app, next);
        app.exec(`INSERT INTO t (id, v) VALUES (${next++}, x'00')`);
      }
      return tryLock(ms);
    };

    assertEquals(await wal.checkpoint(false), true);
    assertEquals(armed, false, "the application got in");
    await wal.tick();
    assertEquals(
      wal.state!.generation,
      generation,
      `a new generation was started:\n${lines.join("\n")}`,
    );
    const published = readWalIndexHeader(`${db}-shm`)!;
    const st = wal.state!;
    assertEquals([st.header.salt1, st.header.salt2], [published.salt1, published.salt2]);
    assertEquals((st.size - WAL_HEADER_SIZE) / frameSize(st.header.pageSize), published.mxFrame);
    assertEquals((app.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, next - 1);
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
