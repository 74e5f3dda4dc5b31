/**
 * A TRUNCATE checkpoint that waited for the write lock while a writer held it: we let go of our read
 * for it (it holds the checkpoint lock), the writer committed once more while we were unpinned, and the
 * checkpoint then copied that commit into the database file and emptied the WAL. The commit is in no
 * WAL we can copy, so only a new generation (a snapshot) ships it. The sync that pinned again found
 * the WAL without a header and waited for the application's next commit before judging anything: an
 * idle application, or a stop in between (every committed frame is flushed, then exit 0), left the
 * replica without that commit and nothing said so. The application is a real second connection in
 * this process; the checkpoint runs in a child process, as it blocks while it waits.
 */
import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
} from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DbConnections } from "../../lib/replicate/db_conn.ts";
import { ShadowDir } from "../../lib/replicate/shadow_wal.ts";
import { WalSync } from "../../lib/replicate/wal_sync.ts";
import { readWalIndexHeader } from "../../lib/sqlite/wal_index.ts";

const CHECKPOINTER = `
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("PRAGMA busy_timeout = 20000");
console.log("open");
// The test's probe holds the checkpoint lock for a moment now and then: busy with log -1 is that.
// Retried for as long as the probe looks (20 s), at jittered intervals: on a loaded machine a fixed
// 10 ms beat met the probe's every time until 500 tries ran out (the probe then gave up).
const deadline = Date.now() + 20_000;
for (;;) {
  const r = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number; log: number };
  if (r.busy === 0 || r.log !== -1 || Date.now() > deadline) {
    console.log(JSON.stringify(r));
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 3 + Math.random() * 14));
}
db.close();
`;

/** Waits until another connection holds the checkpoint lock (a PASSIVE checkpoint answers busy). */
async function checkpointLockTaken(db: string): Promise<void> {
  const probe = new DatabaseSync(db);
  try {
    for (let i = 0; i < 2000; i++) {
      if ((probe.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { busy: number }).busy === 1) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the checkpointer never took the checkpoint lock");
  } finally {
    probe.close();
  }
}

Deno.test("replicate: a commit a TRUNCATE took from the WAL while we were unpinned starts a new generation at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-yieldtr-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("PRAGMA wal_autocheckpoint = 0");
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
    insert.run();
    await wal.tick();
    const generation = wal.state!.generation;

    // The writer holds the lock; the checkpoint takes its own lock and waits for the writer's.
    app.exec("BEGIN IMMEDIATE");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", CHECKPOINTER, db],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("open\n")) {
      const { done, value } = await out.read();
      if (done) throw new Error(`checkpointer ended early: ${text}`);
      text += value;
    }
    await checkpointLockTaken(db);
    await wal.tick();
    assert(wal.yielding, `the tick did not let go of its read for the checkpoint:\n${lines.join("\n")}`);

    // Committed while we are unpinned: the checkpoint then copies it into the database file and
    // empties the WAL.
    insert.run();
    app.exec("COMMIT");
    for (;;) {
      const { done, value } = await out.read();
      if (done) break;
      text += value;
    }
    assertEquals((await child.status).code, 0);
    const ck = JSON.parse(text.split("\n")[1]) as { busy: number };
    assertEquals(ck.busy, 0, `the TRUNCATE did not complete: ${text}`);
    assertEquals(Deno.statSync(`${db}-wal`).size, 0);
    const committed = readWalIndexHeader(`${db}-shm`)!;
    assertEquals(committed.mxFrame, 0);

    // The application commits nothing more: the next ticks (a stop flushes with one) must not take
    // the empty WAL for proof that the replica has everything.
    await wal.tick();
    await wal.tick();
    assert(!wal.yielding);
    assertNotEquals(
      wal.state!.generation,
      generation,
      `the commit that only the database file holds was never shipped:\n${lines.join("\n")}`,
    );
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
