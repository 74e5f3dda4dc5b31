/**
 * A dump's memory does not grow with its rows' sizes: `crate run` of a database holding 120 rows of
 * 2.1 MB blobs (252 MB, 504 MB of hex, either one above the 300 MiB bound) runs in a bounded peak RSS,
 * and the dump restores to the same rows. A dumper that formats such rows as one string needs the
 * whole hex at once (with 500 rows, more than SQLite's 1 GB string limit: "string or blob too big").
 * 250 rows took a minute per phase of the suite.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readdirSync } from "node:fs";
import { scratch, show, snapshots } from "./fixture.ts";
import { runCli } from "../helpers/cli.ts";

/** Rows summarised by the sqlite3 shell: size and both ends of every blob. */
function blobSummary(db: string): string {
  return execFileSync("sqlite3", [
    db,
    "SELECT id, length(b), hex(substr(b, 1, 16)), hex(substr(b, -16)) FROM t ORDER BY id",
  ], { encoding: "utf8", maxBuffer: 1 << 26 });
}

Deno.test("crate run dumps 120 rows of 2.1 MB blobs in bounded memory", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "big.db");
    execFileSync("sqlite3", [
      src,
      "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);" +
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<120) " +
      "INSERT INTO t SELECT i, randomblob(2100000) FROM c;",
    ]);
    const target = join(s.dir, "dumps");
    const crate = join(s.dir, "c.yaml");
    Deno.writeTextFileSync(
      crate,
      `name: db\nresources:\n  - name: big\n    type: db_backup\n    source_db: ${JSON.stringify(src)}\n` +
        `    target_path: ${JSON.stringify(target)}\n    min_free_space: 1M\n`,
    );
    const r = await runCli(["crate", "run", crate, "--now"], {
      via: ["/usr/bin/time", "-f", "PEAKRSS %M"],
      // Only a guard against a hang: the dump formats and compresses 1 GB, minutes of CPU on a loaded
      // machine, where 300 s ended a run that had dumped every row.
      timeoutMs: 900_000,
    });
    assert.equal(r.code, 0, show(r));
    const peak = Number(/PEAKRSS (\d+)/.exec(r.stderr)?.[1]) / 1024;
    assert.ok(peak < 300, `peak RSS ${peak.toFixed(0)} MiB for a dump of 2.1 MB rows\n${show(r)}`);
    const [snap] = snapshots(target);
    const dump = join(target, snap, readdirSync(join(target, snap))[0]);
    const restored = join(s.dir, "restored.db");
    execFileSync("sh", ["-c", 'zcat "$1" | sqlite3 -bail "$2"', "sh", dump, restored]);
    assert.equal(blobSummary(restored), blobSummary(src));
  } finally {
    s.cleanup();
  }
});
