/**
 * A restore journal whose write fails (the target's disk is full) and whose temporary file then cannot
 * be removed: the failure stays the error (exit 11 naming the journal), and its line names the
 * temporary file left for the next run's sweep. Before, AtomicFile.abort()'s raw 'EACCES: permission
 * denied, rm' replaced it. The disk is a small full tmpfs (root only) and the removal fails in the kernel
 * (strace, tests/helpers/unremovable_temp.ts); skipped, saying so, without either.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { IoError } from "../../lib/errors.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";

const isRoot = process.getuid?.() === 0;
if (!hasStrace || !isRoot) {
  console.warn("restore_journal_left_temp_test: skipped, it needs strace and root (to mount a tmpfs)");
}

const sh = (cmd: string) =>
  assert.ok(new Deno.Command("sh", { args: ["-c", cmd] }).outputSync().success, cmd);

Deno.test({
  name: "restore journal: a write on a full disk whose temporary file cannot be removed keeps the failure",
  ignore: !hasStrace || !isRoot,
  async fn() {
    const target = await Deno.makeTempDir({ prefix: "vigo-journal-left-temp-" });
    sh(`mount -t tmpfs -o size=64k,mode=0755 tmpfs '${target}'`);
    try {
      // No block left for the journal's bytes (dd stops, failing, when the tmpfs is full).
      new Deno.Command("dd", { args: ["if=/dev/zero", `of=${target}/fill`, "bs=4k"], stderr: "null" })
        .outputSync();
      const { outcome } = await runWithUnremovableTemp(
        `
        import { journalPath, writeJournal } from "${REPO_ROOT}lib/archive/restore_journal.ts";
        const target = ${JSON.stringify(target)};
        console.log(JSON.stringify({ temp: target }));
        Deno.stdin.readSync(new Uint8Array(8));
        const j = { format: "vigocli-restore-journal", version: 1, pid: Deno.pid, started_at: "", target,
          staging: target + "/.restore-staging-1", aside: target + "/.pre-restore-1", steps: [] };
        try {
          await writeJournal(j);
          console.log(JSON.stringify({ ok: true }));
        } catch (e) {
          console.log(JSON.stringify({ code: e.exitCode, message: e.message, journal: journalPath(target) }));
        }`,
        true,
      );
      const temps = readdirSync(target).filter((n) => n.includes(".tmp-"));
      assert.equal(temps.length, 1, String(readdirSync(target)));
      assert.deepEqual(outcome, {
        code: new IoError("x").exitCode,
        message:
          `${outcome.journal}: no space left on device; its temporary file ${join(target, temps[0])} ` +
          "could not be removed (permission denied) and is left for the next run's sweep",
        journal: outcome.journal,
      });
      // The next run's sweep of the target removes it (its writer is dead).
      sweepStaleTemps(target);
      assert.deepEqual(readdirSync(target), ["fill"]);
    } finally {
      sh(`umount '${target}'`);
      await Deno.remove(target, { recursive: true });
    }
  },
});
