/**
 * Memory while snapshotting does not grow with the database (Litestream #613, #331): the peak RSS of
 * `vigocli backup replicate` taking the first snapshot of a 160 MiB database is within 40 MiB of the
 * peak for a 32 MiB one (the snapshot is streamed in 256 KiB LZ4 blocks; a replicator holding the
 * database in memory would need 128 MiB more). Small databases are not compared: below the garbage
 * collector's threshold the peak simply includes not-yet-collected buffers.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { background } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeRoot, replicateCommand } from "./replicate_env.ts";

async function peakRssMiB(bytes: number): Promise<number> {
  const r = await makeRoot();
  try {
    const rows = Math.max(10, Math.round(bytes / 1100));
    await sqliteQuery(
      r.db,
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER, payload BLOB);" +
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) ` +
        "INSERT INTO t SELECT i, 0, randomblob(1000) FROM n;",
    );
    const bg = background("/usr/bin/time", ["-f", "PEAKRSS %M", ...replicateCommand(r)]);
    try {
      await bg.waitFor(/replication started/, 300_000);
      // GNU time does not forward signals: stop its child, then collect time's report.
      const kids = await new Deno.Command("pgrep", { args: ["-P", String(bg.child.pid)], stdout: "piped" })
        .output();
      const pids = new TextDecoder().decode(kids.stdout).split("\n").filter(Boolean);
      assert(pids.length > 0, `no replicator under /usr/bin/time:\n${bg.output()}`);
      for (const pid of pids) Deno.kill(Number(pid), "SIGTERM");
      assertEquals(await bg.stop("SIGCONT"), 0, bg.output());
      const m = /PEAKRSS (\d+)/.exec(bg.output());
      assert(m, bg.output());
      return Number(m[1]) / 1024;
    } finally {
      // time and the replicator under it, whatever happened above (no-op once both exited).
      await bg.kill();
    }
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
}

Deno.test("replicate: snapshot memory does not grow with the database (#613, #331)", async () => {
  const small = await peakRssMiB(32 * 1024 * 1024);
  const big = await peakRssMiB(160 * 1024 * 1024);
  assert(
    big - small < 40,
    `peak RSS ${big.toFixed(0)} MiB for 160 MiB vs ${small.toFixed(0)} MiB for 32 MiB`,
  );
});
