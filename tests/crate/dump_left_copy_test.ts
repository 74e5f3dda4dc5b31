/**
 * A dump of a rollback-journal database (read from a private copy beside the output) that fails and whose
 * copy then cannot be removed: the dump's failure stays the error, and its line names the copy left for
 * the next run's sweep. Before, rmSync's raw 'EACCES: permission denied, rm' from the dump's finally
 * replaced it. The removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying
 * so, without strace.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { BadInputError } from "../../lib/errors.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";

if (!hasStrace) console.warn("dump_left_copy_test: skipped, strace is not installed");

/**
 * A child dumping `src` into `out`: once the copy appears beside it, it prints the copy's path and waits
 * for strace with its event loop blocked, so the dump goes on only once the copy's unlinks fail.
 */
function dumpOnce(src: string, out: string): string {
  return `
    import { writeGzipDump } from "${REPO_ROOT}lib/crate/dump_file.ts";
    const out = ${JSON.stringify(out)};
    const dir = out.slice(0, out.lastIndexOf("/"));
    const timer = setInterval(() => {
      const copy = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".db"));
      if (!copy) return;
      clearInterval(timer);
      console.log(JSON.stringify({ temp: dir + "/" + copy.name }));
      Deno.stdin.readSync(new Uint8Array(8));
    }, 0);
    try {
      await writeGzipDump(${JSON.stringify(src)}, out);
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.exitCode, message: e.message }));
    } finally {
      clearInterval(timer);
    }`;
}

Deno.test({
  name: "crate dump: a failed dump whose copy of the database cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-dump-left-copy-" });
    try {
      // A rollback-journal database whose last page (a leaf of the table, the rows going in in order) is
      // broken: the copy taken page by page succeeds, and the dump fails once it reaches it.
      const src = join(dir, "app.db");
      const db = new DatabaseSync(src);
      db.exec("PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
      db.exec("BEGIN");
      const insert = db.prepare("INSERT INTO t(v) VALUES (?)");
      for (let i = 0; i < 100_000; i++) insert.run(`row ${i} `.padEnd(120, "x"));
      db.exec("COMMIT");
      db.close();
      const fd = openSync(src, "r+");
      writeSync(fd, new Uint8Array([0x00]), 0, 1, statSync(src).size - 4096);
      closeSync(fd);
      const out = join(dir, "out");
      Deno.mkdirSync(out);
      const { temp, outcome } = await runWithUnremovableTemp(dumpOnce(src, join(out, "app.sql.gz")));
      const note =
        `; its copy of the database ${temp} could not be removed (permission denied) and is left ` +
        "for the next run's sweep";
      assert.equal(outcome.code, new BadInputError("x").exitCode, JSON.stringify(outcome));
      const message = String(outcome.message);
      assert.ok(message.startsWith(`${src}: `), message);
      assert.ok(message.endsWith(note), message);
      assert.ok(existsSync(temp), `${temp} is not there`);
      // The next run's sweep of that directory removes it (its writer is dead).
      sweepStaleTemps(out);
      assert.deepEqual(readdirSync(out), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
