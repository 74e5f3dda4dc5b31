/**
 * A replica restore that fails (the restored database fails integrity_check) and whose temporary database
 * then cannot be removed: the failure stays the error (exit 8), and its line names the temporary file
 * left for the next run's sweep. Before, rm's raw 'EACCES: permission denied, rm' from the restore's
 * finally replaced it (exit 11). The removal fails in the kernel (strace,
 * tests/helpers/unremovable_temp.ts); skipped, saying so, without strace.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { lz4CompressBytes } from "../../lib/codec/lz4/lz4.ts";
import { ExitCode } from "../../lib/errors.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { everyUnlinkFailing, hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";

if (!hasStrace) console.warn("restore_left_temp_test: skipped, strace is not installed");

/** A child that waits for strace (every unlink failing), then restores into `out` and prints the error. */
function restoreOnce(replica: string, out: string): string {
  return everyUnlinkFailing(
    `import { FileBackend } from "${REPO_ROOT}lib/backend/file/file_backend.ts";
import { replicaClientFor } from "${REPO_ROOT}lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "${REPO_ROOT}lib/litestream/restore.ts";`,
    `restoreReplica(replicaClientFor(new FileBackend(${JSON.stringify(replica)})), {
        outputPath: ${JSON.stringify(out)},
      })`,
  );
}

Deno.test({
  name: "replica restore: a failed restore whose temporary database cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-restore-left-temp-" });
    try {
      const src = `${dir}/src.db`;
      const db = new DatabaseSync(src);
      db.exec("PRAGMA journal_mode=WAL; CREATE TABLE nodes (id INTEGER PRIMARY KEY, name TEXT);");
      db.exec("INSERT INTO nodes (name) VALUES ('a'), ('b'); PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
      const snapshot = await Deno.readFile(src);
      // sqlite_schema's page type byte: the restored database fails integrity_check (exit 8).
      snapshot[100] = 0xff;
      const replica = `file://${dir}/replica`;
      await replicaClientFor(new FileBackend(replica)).writeSnapshot(
        "0123456789abcdef",
        0,
        await lz4CompressBytes(snapshot),
      );
      const out = `${dir}/out.db`;
      const { outcome } = await runWithUnremovableTemp(restoreOnce(replica, out), true);
      const temps = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
        /^\.out\.db\.tmp-\d+-[0-9a-f]{12}$/.test(n)
      );
      assertEquals(temps.length, 1, String(temps));
      const temp = `${dir}/${temps[0]}`;
      const message = String(outcome.message);
      const note = `; its temporary file ${temp} could not be removed (permission denied) and is left for ` +
        "the next run's sweep";
      assertEquals(outcome.code, ExitCode.VerifyFailed, message);
      assert(message.startsWith(`${replica}: restored database fails integrity_check: `), message);
      assert(message.endsWith(note), message);
      assert(!existsSync(out));
      // The next restore's sweep of that directory removes it and SQLite's files beside it, which could
      // not go either (its restore is dead).
      sweepStaleTemps(dir);
      assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.includes("out.db")), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
