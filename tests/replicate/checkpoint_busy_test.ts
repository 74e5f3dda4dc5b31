/**
 * SQLite answers a PASSIVE checkpoint with "busy" when another connection holds the checkpoint lock —
 * usually the application's own autocheckpoint, running at that moment. That is not a reader holding
 * an old snapshot: reporting it as one made the replicator log "checkpoint incomplete" and wait 10 s
 * (once seen in the suite, right after a long reader ended). Here another process really holds the
 * lock, on the byte of the `-shm` file where SQLite takes it.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DbConnections } from "../../lib/replicate/db_conn.ts";
import { ShadowDir } from "../../lib/replicate/shadow_wal.ts";
import { WalSync } from "../../lib/replicate/wal_sync.ts";

/** WAL_CKPT_LOCK: the shm lock bytes start at 120 (the write lock), the checkpoint lock follows. */
const CHECKPOINT_LOCK_BYTE = 121;

/** A python3 process holding an exclusive POSIX lock on one byte of `path` until released. */
async function holdByte(path: string, byte: number): Promise<{ release(): Promise<void> }> {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import fcntl, os, sys\n" +
      "fd = os.open(sys.argv[1], os.O_RDWR)\n" +
      "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]), 0)\n" +
      "print('held', flush=True)\n" +
      "sys.stdin.read()\n",
      path,
      String(byte),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assertEquals(new TextDecoder().decode(value).trim(), "held");
  reader.releaseLock();
  return {
    async release() {
      await child.stdin.close();
      assertEquals((await child.status).code, 0);
      await child.stdout.cancel();
    },
  };
}

Deno.test("replicate: a checkpoint busy with another checkpointer is retried, not taken for a reader", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ckbusy-" });
  const db = `${dir}/app.db`;
  const app = new DatabaseSync(db);
  let conns: DbConnections | null = null;
  try {
    app.exec("PRAGMA journal_mode = wal");
    app.exec("PRAGMA wal_autocheckpoint = 0"); // the only checkpoints are the test's and ours
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    for (let id = 1; id <= 50; id++) app.exec(`INSERT INTO t (id, v) VALUES (${id}, randomblob(500))`);
    conns = new DbConnections(db);
    const wal = new WalSync(db, new ShadowDir(db), conns, () => {});
    await wal.begin();

    const holder = await holdByte(`${db}-shm`, CHECKPOINT_LOCK_BYTE);
    try {
      assertEquals(await wal.checkpoint(false), null, "busy: another checkpointer, no reader");
    } finally {
      await holder.release();
    }
    assertEquals(await wal.checkpoint(false), true, "complete once the lock is free");
    assertEquals((app.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 50);
  } finally {
    conns?.close();
    app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
