/**
 * The replicator's first start on a database whose application holds the write lock for longer than
 * SQLite's busy timeout (5 s on our connections): the start waits for it within its own 30 s bound
 * and replicates what the holder then commits. Creating Litestream's tables used to run in the
 * connections' set-up, outside that bound: the start failed with 'database is locked' after 5 s (on a
 * loaded machine, an application committing back to back starved it just the same: CI's
 * replicate_app_checkpoint_cli_test and replicate_shutdown_test).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Replicator } from "../../lib/replicate/replicator.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

const HOLD_MS = 7_000;

const HOLDER = `
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("BEGIN IMMEDIATE");
db.exec("INSERT INTO t (v) VALUES ('held')");
console.log("locked");
await new Promise((r) => setTimeout(r, Number(Deno.args[1])));
db.exec("COMMIT");
db.close();
`;

Deno.test("replicate: a first start waits out an application holding the write lock past the busy timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-start-locked-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  app.exec("PRAGMA journal_mode = wal; CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('before')");
  app.close();
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", HOLDER, db, String(HOLD_MS)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const r = new Replicator({
    dbPath: db,
    backup: {
      url: `file://${dir}/replica`,
      destination: { scheme: "file" },
      retentionMs: 86_400_000,
      syncIntervalMs: 100,
      snapshotIntervalMs: 86_400_000,
    },
    log: () => {},
  });
  try {
    const out = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("locked\n")) {
      const { done, value } = await out.read();
      if (done) throw new Error(`the holder ended before taking the lock: ${text}`);
      text += value;
    }
    await r.start();
    assertEquals((await holder.status).code, 0);
    await r.stop();
    await r.restore({ outputPath: `${dir}/restored.db` });
    assertEquals(await sqliteQuery(`${dir}/restored.db`, "SELECT group_concat(v) FROM t"), "before,held");
  } finally {
    await r.stop();
    try {
      holder.kill("SIGKILL");
    } catch {
      // already ended
    }
    await holder.status;
    await Deno.remove(dir, { recursive: true });
  }
});
