/**
 * A stop that lands while an application's TRUNCATE checkpoint has reset the WAL-index but not yet
 * truncated the WAL file. We let go of our read for that checkpoint (it held the checkpoint lock and
 * waited for a writer's lock), the writer committed once more while we were unpinned, and the
 * checkpoint copied that commit into the database file and reset the WAL-index (other salts, no
 * frames). Until its ftruncate the file still starts with our WAL's header, so a sync finds "our WAL,
 * nothing published in it" and copies nothing; a stop then ended with exit 0 and 'replication
 * stopped', and the commit was in no replica. The checkpoint's ftruncate is held up 4 s with strace's
 * fault injection, the replicator is frozen (SIGSTOP) while the writer commits, so that it cannot
 * copy the commit before the checkpoint takes it, and is sent SIGCONT and SIGTERM inside that window.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb, litestreamRestore, sleep } from "../helpers/litestream.ts";
import { readWalIndexHeader } from "../../lib/sqlite/wal_index.ts";
import { assertRows, killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

const hasStrace = (() => {
  try {
    return new Deno.Command("strace", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasStrace) {
  console.warn(
    "yield_truncate_pending_cli_test: skipped, strace is not installed (scripts/install_test_deps.sh)",
  );
}

/**
 * Whether process `pid` holds one of SQLite's read locks (bytes 123-127 of the `-shm`, WAL_READ_LOCK(0..4)),
 * as /proc/locks lists them: a replicator pinned to the database does.
 */
function holdsReadLock(shm: string, pid: number): boolean {
  const ino = `:${Deno.statSync(shm).ino} `;
  return Deno.readTextFileSync("/proc/locks").split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return l.includes(ino) && Number(f[4]) === pid && Number(f[6]) >= 123 && Number(f[6]) <= 127;
  });
}

Deno.test({
  name:
    "replicate: a stop while a TRUNCATE has reset the WAL-index but not the WAL file keeps the commit it took",
  ignore: !hasStrace,
  fn: async () => {
    const r = await makeRoot({ syncInterval: "100ms" });
    await createWriterDb(r.db);
    const app = new DatabaseSync(r.db);
    let checkpointer: Deno.ChildProcess | null = null;
    try {
      app.exec("PRAGMA wal_autocheckpoint = 0");
      app.exec("PRAGMA busy_timeout = 0");
      const insert = app.prepare("INSERT INTO t (ts, payload) VALUES (0, randomblob(100))");
      for (let i = 0; i < 10; i++) insert.run();
      const repl = await startReplicate(r);
      await sleep(500);
      for (let i = 0; i < 10; i++) insert.run();
      await sleep(300);

      // The writer holds the lock; the checkpoint takes its own lock and waits for the writer's.
      app.exec("BEGIN IMMEDIATE");
      checkpointer = new Deno.Command("strace", {
        args: [
          "-f",
          "-qq",
          "-o",
          "/dev/null",
          "-e",
          "trace=ftruncate",
          "-P",
          `${r.db}-wal`,
          "-e",
          "inject=ftruncate:delay_enter=4000000",
          "sqlite3",
          r.db,
          "PRAGMA busy_timeout = 20000; PRAGMA wal_checkpoint(TRUNCATE);",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // A tick probes for 200 ms, sees the checkpoint (its lock is not probed here with a PASSIVE
      // checkpoint, which would copy the WAL back first) and lets go of its read.
      for (let i = 0; holdsReadLock(`${r.db}-shm`, repl.child.pid); i++) {
        assert(i < 3000, `the replicator kept its read transaction for 30 s:\n${repl.output()}`);
        await sleep(10);
      }
      const before = readWalIndexHeader(`${r.db}-shm`)!;
      Deno.kill(repl.child.pid, "SIGSTOP");
      insert.run();
      app.exec("COMMIT");
      // The checkpoint can only reset the WAL-index if we had let go of our read: a wait that times out
      // here means the replicator never yielded and the test proves nothing.
      for (let i = 0;; i++) {
        const h = readWalIndexHeader(`${r.db}-shm`);
        if (h && h.salt1 !== before.salt1 && Deno.statSync(`${r.db}-wal`).size > 0) break;
        assert(
          i < 300,
          `the checkpoint did not reset the WAL-index within 3 s: ${JSON.stringify(before)} ${
            JSON.stringify(h)
          } ${Deno.statSync(`${r.db}-wal`).size}\n${repl.output()}`,
        );
        await sleep(10);
      }
      Deno.kill(repl.child.pid, "SIGCONT");
      assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
      assert(/replication stopped/.test(repl.output()), repl.output());
      const ck = await checkpointer.output();
      assertEquals(ck.code, 0, new TextDecoder().decode(ck.stderr));

      const ids = Array.from({ length: 21 }, (_, i) => i + 1);
      const ours = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", `${r.root}/ours.db`]);
      assertEquals(ours.code, 0, ours.stderr);
      await assertRows(`${r.root}/ours.db`, ids, `backup replica restore\n${repl.output()}`);
      const ls = await litestreamRestore({ out: `${r.root}/ls.db`, url: r.url });
      assertEquals(ls.code, 0, ls.stderr);
      await assertRows(`${r.root}/ls.db`, ids, "litestream restore");
    } finally {
      await killReplicators();
      if (checkpointer) {
        try {
          checkpointer.kill("SIGKILL");
        } catch {
          // already gone
        }
        await checkpointer.status;
      }
      app.close();
      await Deno.remove(r.root, { recursive: true });
    }
  },
});
