/**
 * SIGINT/SIGTERM while `crate restore-dump` runs the dump's statements: exit 130 and one line naming the
 * dump and the output and saying nothing is left, and nothing is (no output database, no temporary
 * database or journal). It was the runtime's default before: 143 for SIGTERM with no word, and either
 * signal left the temporary database until the next restore-dump into that directory.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { interruptAt, names } from "../helpers/interrupt.ts";
import { scratch } from "./fixture.ts";

/** A plain dump of `rows` rows of ~200 bytes: seconds of statements to restore. */
function bigDump(path: string, rows: number): void {
  const lines = ["BEGIN TRANSACTION;", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"];
  const filler = "x".repeat(200);
  for (let i = 1; i <= rows; i++) lines.push(`INSERT INTO t VALUES(${i},'${filler}${i}');`);
  lines.push("COMMIT;", "");
  writeFileSync(path, lines.join("\n"));
}

Deno.test("crate restore-dump: SIGINT or SIGTERM mid-restore exits 130 with one line, leaves nothing", async () => {
  const s = scratch();
  try {
    const dump = join(s.dir, "d.sql");
    bigDump(dump, 300_000);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const outDir = join(s.dir, signal);
      mkdirSync(outDir);
      const out = join(outDir, "restored.db");
      // Its temporary database appears as the statements start: the signal finds them running.
      const stderr = await interruptAt(
        ["crate", "restore-dump", dump, "-o", out],
        outDir,
        ".restored.db.tmp-",
        signal,
      );
      assert.equal(
        stderr,
        `vigocli: restore of ${dump} to ${out} interrupted (${signal}); nothing of it was left: no ${out}, ` +
          "no temporary database\n",
      );
      assert.deepEqual(names(outDir), [], `${signal}: the interrupted restore left something`);
    }
  } finally {
    s.cleanup();
  }
});
