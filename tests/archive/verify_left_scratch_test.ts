/**
 * `backup verify` of a bad archive whose scratch directory then cannot be removed: the verdict stays the
 * error (its exit code is what a monitor reads), and its line names the directory left for the next
 * run's sweep. Before, rm's raw 'EACCES: permission denied, rm' from verify's finally replaced it (exit
 * 11). The removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying so,
 * without strace.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { everyUnlinkFailing, hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";
import { verifyArchive } from "../../lib/archive/verify.ts";

if (!hasStrace) console.warn("verify_left_scratch_test: skipped, strace is not installed");

/** A child that waits for strace (every unlink failing), then verifies `path` and prints the error. */
function verifyOnce(path: string): string {
  return everyUnlinkFailing(
    `import { verifyArchive } from "${REPO_ROOT}lib/archive/verify.ts";`,
    `verifyArchive(${JSON.stringify(path)}, {})`,
  );
}

Deno.test({
  name: "backup verify: a failed verify whose scratch directory cannot be removed keeps its verdict",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-verify-left-" });
    try {
      const path = join(dir, "x.tar.gz");
      writeFileSync(path, "not an archive\n");
      // What the same verify says when its scratch goes.
      const expected = await verifyArchive(path, {}).then(() => assert.fail("verified"), (e) => e);
      assert.notEqual(expected.exitCode, 11, expected.message);
      assert.deepEqual(readdirSync(dir), ["x.tar.gz"]);

      const { outcome } = await runWithUnremovableTemp(verifyOnce(path), true);
      const scratch = readdirSync(dir).filter((n) => n.startsWith(".vigo-verify-"));
      assert.equal(scratch.length, 1, String(readdirSync(dir)));
      const note = `; its scratch directory ${join(dir, scratch[0])} could not be removed (permission ` +
        "denied) and is left for the next run's sweep";
      assert.deepEqual(outcome, { code: expected.exitCode, message: `${expected.message}${note}` });
      // The next run's sweep of that directory removes it (its verify is dead).
      sweepStaleTemps(dir);
      assert.deepEqual(readdirSync(dir), ["x.tar.gz"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
