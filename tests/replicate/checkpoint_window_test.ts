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

/** What both tests start from: an application connection with a full WAL, and a WalSync that has begun. */
interface Setup {
  db: string;
  app: DatabaseSync;
  conns: DbConnections;
  wal: WalSync;
  lines: string[];
  generation: string;
  next: number;
}

async function withReplicatedApp(prefix: string, body: (s: Setup) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    const next = fillWal(app, 1);
    conns = new DbConnections(db);
    const lines: string[] = [];
    const wal = new WalSync(db, new ShadowDir(db), conns, (level, msg, fields) => {
      lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    });
    await wal.begin();
    await body({ db, app, conns, wal, lines, generation: wal.state!.generation, next });
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Still the same generation, and the shadow's current index holds exactly the frames SQLite has
 * committed in the WAL it follows.
 */
function assertFollowed(s: Setup): void {
  assertEquals(s.wal.state!.generation, s.generation, `a new generation was started:\n${s.lines.join("\n")}`);
  const published = readWalIndexHeader(`${s.db}-shm`)!;
  const st = s.wal.state!;
  assertEquals([st.header.salt1, st.header.salt2], [published.salt1, published.salt2]);
  assertEquals((st.size - WAL_HEADER_SIZE) / frameSize(st.header.pageSize), published.mxFrame);
}

Deno.test("replicate: an application restarting the WAL twice inside our checkpoint costs no generation", async () => {
  await withReplicatedApp("vigo-ckwin-", async (s) => {
    let checkpointDone = false;
    let raced = 0;
    const c = s.conns;
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
        s.next = fillWal(s.app, s.next);
        s.app.exec(`INSERT INTO t (id, v) VALUES (${s.next++}, x'00')`);
        raced++;
      }
      return tryLock(ms);
    };

    assertEquals(await s.wal.checkpoint(false), true);
    assertEquals(raced, 1, "the window was opened");
    await s.wal.tick();
    assert(s.lines.some((l) => l.startsWith("INFO wal restarted")), s.lines.join("\n"));
    assertFollowed(s);
  });
});

Deno.test("replicate: an application restarting the WAL twice while our checkpoint waits for the lock costs no generation", async () => {
  await withReplicatedApp("vigo-ckwait-", async (s) => {
    // The checkpoint's first request for the write lock is where the application gets in: two fills
    // past its autocheckpoint threshold and one more commit, i.e. two WAL restarts unless our read
    // transaction keeps its checkpoints from copying the whole WAL back.
    let armed = true;
    const tryLock = s.conns.tryLock.bind(s.conns);
    s.conns.tryLock = (ms: number) => {
      if (armed) {
        armed = false;
        s.next = fillWal(s.app, s.next);
        s.next = fillWal(s.app, s.next);
        s.app.exec(`INSERT INTO t (id, v) VALUES (${s.next++}, x'00')`);
      }
      return tryLock(ms);
    };

    assertEquals(await s.wal.checkpoint(false), true);
    assertEquals(armed, false, "the application got in");
    await s.wal.tick();
    assertFollowed(s);
  });
});
