/**
 * Another connection commits and then holds the write lock (a long write transaction here; the
 * replicator lets go of its pin only for a blocking checkpoint, which waits for it): what was
 * committed before still reaches the replica within a tick or two, and a SIGTERM meanwhile stops at
 * once with exit 0 when nothing past the upload was committed. The replicator used to wait for the lock inside one step: the commit stayed out
 * of the replica for as long as the lock was held, and SIGTERM waited out shutdown_timeout and exited 7
 * (found by review).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb, rowIds, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";
import { type ExclusiveHolder, holdExclusive } from "../helpers/exclusive_holder.ts";

const HOLDER = `
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("INSERT INTO t (id, ts, payload) VALUES (1001, 0, x'00')")
c.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("COMMIT")
`;

Deno.test("replicate: a commit before a long-held write lock is replicated meanwhile, SIGTERM exits 0 at once", async () => {
  const r = await makeRoot({ syncInterval: "300ms" });
  let holder: Deno.ChildProcess | undefined;
  try {
    await createWriterDb(r.db);
    const w = startSqliteWriter(r.db, { maxTx: 10 });
    assertEquals((await w.child.status).code, 0);
    await w.stop();
    const repl = await startReplicate(r);
    holder = new Deno.Command("python3", { args: ["-c", HOLDER, r.db, "15"], stdout: "piped" }).spawn();
    const reader = holder.stdout.getReader();
    const { value } = await reader.read();
    assert(new TextDecoder().decode(value).includes("holding"));
    reader.releaseLock();
    await sleep(3000);
    const out = `${r.root}/during.db`;
    const restored = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", out]);
    assertEquals(restored.code, 0, restored.stderr);
    assert((await rowIds(out)).includes(1001), "the commit made before the lock was taken is in the replica");
    const t0 = Date.now();
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    assert(Date.now() - t0 < 5000, `SIGTERM took ${Date.now() - t0} ms while the lock was held`);
  } finally {
    holder?.kill("SIGKILL");
    await holder?.status;
    await holder?.stdout.cancel().catch(() => {});
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("replicate: a database held with locking_mode=EXCLUSIVE exits 5 naming it; the replica is left unclaimed", async () => {
  const r = await makeRoot();
  let holder: ExclusiveHolder | undefined;
  try {
    await createWriterDb(r.db);
    holder = await holdExclusive(r.db, "INSERT INTO t (id, ts, payload) VALUES (1001, 0, x'00')");
    const res = await runCli(["backup", "replicate", "--server-yaml", r.yaml, "--server-root", r.root], {
      timeoutMs: 60_000,
    });
    assertEquals(res.code, 5, res.stderr);
    assert(
      res.stderr.includes(`${r.db}: database is locked by another process; gave up after 5 s`),
      res.stderr,
    );
    // The claim taken before the database was opened went with the failed start: a replicator started
    // once the lock is gone is not kept waiting for it to go stale.
    let left: string[] = [];
    try {
      left = [...Deno.readDirSync(r.replicaDir)].map((e) => e.name);
    } catch {
      // no replica directory at all
    }
    assertEquals(left.filter((n) => n.includes("replicator")), []);
  } finally {
    await holder?.release();
    await Deno.remove(r.root, { recursive: true });
  }
});
