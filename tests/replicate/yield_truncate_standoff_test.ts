/**
 * The WAL that a TRUNCATE emptied, with a commit the seal does not count (yield_truncate_commit_test's
 * state), gets our commit at once; the write lock for it was waited for up to 5 s while pinned. Pinned
 * at read mark 0, an application that commits and runs its next TRUNCATE meanwhile holds that lock
 * while its checkpoint waits for our read: both stood still until our 5 s ran out, the step failed
 * ('cannot create the WAL: write lock busy') and every application writer was frozen for 5-6 s
 * (scripts/replicate_stress.ts, seed 2451948, TRUNCATE every 17 transactions; a SIGTERM landing
 * in it exited 7 past shutdown_timeout, seed 2451936). The application is a real connection in this
 * process; the checkpoints run in child processes, as they block while they wait.
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

const CHECKPOINTER = `
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("PRAGMA busy_timeout = 20000");
console.log("open");
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

// Holds the write lock until told to go on, then commits and runs its TRUNCATE straight after: the
// lock is free only between the two, far shorter than the gaps between another waiter's attempts.
const COMMIT_THEN_TRUNCATE = `
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("PRAGMA busy_timeout = 20000");
db.exec("PRAGMA wal_autocheckpoint = 0");
db.exec("BEGIN IMMEDIATE");
console.log("locked");
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
db.exec("INSERT INTO t (v) VALUES (randomblob(100))");
db.exec("COMMIT");
const t0 = Date.now();
const r = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
console.log(JSON.stringify({ ...r, ms: Date.now() - t0 }));
db.close();
`;

function spawnChild(script: string, db: string, stdin: "piped" | "null") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script, db],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    child,
    async until(marker: string): Promise<string> {
      while (!text.includes(marker)) {
        const { done, value } = await out.read();
        if (done) throw new Error(`child ended before '${marker}': ${text}`);
        text += value;
      }
      return text;
    },
    async rest(): Promise<string> {
      for (;;) {
        const { done, value } = await out.read();
        if (done) return text;
        text += value;
      }
    },
  };
}

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

Deno.test("replicate: an emptied WAL we must write to does not hold up the application's next TRUNCATE", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-yieldso-" });
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

    // yield_truncate_commit_test's state: we let go of our read for a TRUNCATE waiting for a writer,
    // the writer commits, the TRUNCATE takes that commit into the database file and empties the WAL.
    app.exec("BEGIN IMMEDIATE");
    const first = spawnChild(CHECKPOINTER, db, "null");
    await first.until("open\n");
    await checkpointLockTaken(db);
    await wal.tick();
    assert(wal.yielding, `the tick did not let go of its read for the checkpoint:\n${lines.join("\n")}`);
    insert.run();
    app.exec("COMMIT");
    assertEquals((await first.child.status).code, 0);
    assertEquals(JSON.parse((await first.rest()).split("\n")[1]).busy, 0);
    assertEquals(Deno.statSync(`${db}-wal`).size, 0);

    // The application holds the write lock while we pin again (read mark 0: the WAL is empty) and
    // want it for our commit; it commits and runs its next TRUNCATE while we wait.
    const second = spawnChild(COMMIT_THEN_TRUNCATE, db, "piped");
    await second.until("locked\n");
    const stdin = second.child.stdin.getWriter();
    const go = setTimeout(() => stdin.write(new TextEncoder().encode("go\n")), 100);
    const t0 = Date.now();
    let failed: unknown = null;
    try {
      await wal.tick();
    } catch (err) {
      failed = err;
    }
    const tickMs = Date.now() - t0;
    clearTimeout(go);
    await stdin.write(new TextEncoder().encode("go\n")).catch(() => {});
    assertEquals(failed, null, `the tick failed after ${tickMs} ms:\n${lines.join("\n")}`);
    assert(tickMs < 2_000, `the tick waited ${tickMs} ms for the write lock`);

    // Our next ticks let the TRUNCATE through and ship what it took with a new generation.
    const until = Date.now() + 10_000;
    const done = second.child.status;
    let finished = false;
    done.then(() => (finished = true));
    while (!finished && Date.now() < until) {
      await wal.tick();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(finished, `the application's TRUNCATE never got through:\n${lines.join("\n")}`);
    const ck = JSON.parse((await second.rest()).split("\n")[1]) as { busy: number; ms: number };
    assertEquals(ck.busy, 0, `the TRUNCATE did not complete: ${JSON.stringify(ck)}`);
    assert(ck.ms < 3_000, `the application's TRUNCATE held every writer for ${ck.ms} ms`);
    assertNotEquals(
      wal.state!.generation,
      generation,
      `the commit only the database file holds was not shipped`,
    );
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
