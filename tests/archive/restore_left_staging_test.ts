/**
 * `backup restore` of an archive that fails part-way (its last gzip member's CRC is wrong, so the staging
 * directory holds the extracted files by then) and whose staging directory, or the target it created,
 * then cannot be removed: the failure stays the error (exit 4), and its line names what is left. Before,
 * rm's raw 'EACCES: permission denied, rm' from the restore's catch or finally replaced it (exit 11). The
 * removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying so, without
 * strace.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../helpers/cli.ts";
import { everyUnlinkFailing, hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";

if (!hasStrace) console.warn("restore_left_staging_test: skipped, strace is not installed");

const ARCHIVE = fileURLToPath(new URL("../vectors/archive/fail/corrupt_gzip_crc.tar.gz", import.meta.url));
const FAILURE = `${ARCHIVE}: not a valid gzip stream`;

/** A child that waits for strace (every unlink failing), then restores into `target` and prints the error. */
function restoreOnce(target: string): string {
  return everyUnlinkFailing(
    `import { restoreArchive } from "${REPO_ROOT}lib/archive/restore.ts";`,
    `restoreArchive({
        archive: ${JSON.stringify(ARCHIVE)}, target: ${JSON.stringify(target)},
        dbOnly: false, dryRun: false, force: false, now: new Date(),
      })`,
  );
}

const left = (what: string, path: string, sweep: string) =>
  `; its ${what} ${path} could not be removed (permission denied) and is left for ${sweep}`;

Deno.test({
  name: "backup restore: a failed restore whose staging directory cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-restore-left-staging-" });
    try {
      const target = join(dir, "target");
      mkdirSync(target);
      const { outcome } = await runWithUnremovableTemp(restoreOnce(target), true);
      const staging = readdirSync(target).filter((n) => n.startsWith(".restore-staging-"));
      assert.equal(staging.length, 1, String(readdirSync(target)));
      const note = left("staging directory", join(target, staging[0]), `the next restore into ${target}`);
      assert.equal(outcome.code, 4, String(outcome.message));
      assert.ok(String(outcome.message).startsWith(FAILURE), String(outcome.message));
      assert.ok(String(outcome.message).endsWith(note), String(outcome.message));
      // The next restore's sweep of the target removes it (its restore is dead).
      sweepStaleTemps(target);
      assert.deepEqual(readdirSync(target).filter((n) => n.startsWith(".restore-staging-")), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "backup restore: a failed restore whose new target cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-restore-left-target-" });
    try {
      const target = join(dir, "target");
      const { outcome } = await runWithUnremovableTemp(restoreOnce(target), true);
      const note = left("new target directory", target, "removal by hand");
      assert.equal(outcome.code, 4, String(outcome.message));
      assert.ok(String(outcome.message).startsWith(FAILURE), String(outcome.message));
      assert.ok(String(outcome.message).endsWith(note), String(outcome.message));
      assert.ok(existsSync(target));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
