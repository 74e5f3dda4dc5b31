/**
 * A restore that has renamed everything into place and removed its journal, and whose last fsync of the
 * target directory (the one that makes the removal durable) fails. Before, the raw EIO came out of the
 * commit, and restore's catch took it for a failed restore and removed the target it had created and
 * restored into. Now the restore stands and its one line (exit 11) says the journal's removal may not
 * survive a crash. The fsync fails in the kernel: strace injects EIO into the last fsync of the target
 * directory, counted in a first run without injection; skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";

if (!hasStrace) console.warn("restore_journal_undurable_test: skipped, strace is not installed");

const ARCHIVE = fileURLToPath(new URL("../vectors/archive/v1-basic.tar.gz", import.meta.url));

/** Restores ARCHIVE into `target` under strace (`inject`: its extra -e); the outcome and strace's log. */
async function restoreTraced(target: string, log: string, inject: string[]) {
  const script = `
    import { restoreArchive } from "${REPO_ROOT}lib/archive/restore.ts";
    try {
      await restoreArchive({ archive: ${JSON.stringify(ARCHIVE)}, target: ${JSON.stringify(target)},
        dbOnly: false, dryRun: false, force: false, now: new Date() });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.exitCode, message: e.message }));
    }`;
  const out = await new Deno.Command("strace", {
    args: [
      "-f",
      "-qq",
      "-o",
      log,
      "-P",
      target,
      "-e",
      "trace=fsync",
      ...inject,
      Deno.execPath(),
      "eval",
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return { outcome: JSON.parse(text.split("\n").at(-1)!), log: await Deno.readTextFile(log) };
}

Deno.test({
  name: "backup restore: a completed restore whose journal's removal cannot be synced keeps what it restored",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-restore-undurable-" });
    try {
      const target = join(dir, "target");
      const first = await restoreTraced(target, join(dir, "count.log"), []);
      assert.deepEqual(first.outcome, { ok: true });
      const syncs = first.log.split("\n").filter((l) => /\bfsync\(/.test(l));
      // Counted per thread by strace's injection: they must all come from one.
      const threads = new Set(syncs.map((l) => l.split(" ")[0]));
      assert.equal(threads.size, 1, first.log);
      await Deno.remove(target, { recursive: true });

      const { outcome } = await restoreTraced(target, join(dir, "inject.log"), [
        "-e",
        `inject=fsync:error=EIO:when=${syncs.length}`,
      ]);
      const names = readdirSync(target);
      assert.equal(outcome.code, 11, String(outcome.message));
      assert.match(
        String(outcome.message),
        new RegExp(
          `^${target}: the restore is complete; its journal ${target}/\\.restore-journal-\\d+\\.json was ` +
            `removed, but its directory could not be synced \\(.+\\): should the journal come back after a ` +
            `crash, the next restore or create of ${target} rolls its steps back \\(remove it by hand then\\)$`,
        ),
      );
      assert.ok(existsSync(join(target, "db/vigo.db")), String(names));
      assert.deepEqual(names.filter((n) => n.startsWith(".restore-")), [], String(names));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
