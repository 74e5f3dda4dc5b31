/**
 * An atomic write that fails (its commit refused: a file was made at the path meanwhile; or its caller's
 * own refusal, which abortKeeping removes the temporary file after) and whose temporary file then cannot
 * be removed: the failure stays the error (ExistsError, exit code 10), and its
 * line names the temporary file left for the next run's sweep. Before, rmSync's raw error replaced it.
 * The removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying so,
 * without strace.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { ExistsError } from "../../lib/errors.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";

if (!hasStrace) console.warn("atomic_file_left_temp_test: skipped, strace is not installed");

/** A child that writes `path` with `write` (noReplace), waiting in beforeCreate for strace. */
function failingWrite(path: string, write: string): string {
  return `
    import { createAtomicFile, refuseExisting, writeFileAtomic } from "${REPO_ROOT}lib/fsutil/atomic_file.ts";
    import { ExistsError } from "${REPO_ROOT}lib/errors.ts";
    const path = ${JSON.stringify(path)};
    const opts = {
      noReplace: true,
      beforeCreate(temp) {
        console.log(JSON.stringify({ temp }));
        Deno.stdin.readSync(new Uint8Array(8));
        Deno.writeTextFileSync(path, "made meanwhile");
      },
    };
    try {
      ${write}
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ exists: e instanceof ExistsError, code: e.exitCode, message: e.message }));
    }`;
}

for (
  const [name, write] of [
    ["writeFileAtomic", `await writeFileAtomic(path, "new", 0o600, opts);`],
    ["createAtomicFile", `const f = await createAtomicFile(path, 0o600, opts); await f.commit();`],
    // A caller's own failure (remote_download's refusal before its commit), then abortKeeping.
    [
      "abortKeeping",
      `const f = await createAtomicFile(path, 0o600, opts);
      try {
        await f.handle.writeFile("new");
        refuseExisting(path);
      } catch (err) {
        throw await f.abortKeeping(err);
      }`,
    ],
  ]
) {
  Deno.test({
    name: `${name}: a failed write whose temporary file cannot be removed keeps the failure`,
    ignore: !hasStrace,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "vigo-atomic-left-temp-" });
      try {
        const path = join(dir, "f");
        const { temp, outcome } = await runWithUnremovableTemp(failingWrite(path, write));
        assert.deepEqual(outcome, {
          exists: true,
          code: new ExistsError("x").exitCode,
          message: `${path}: already exists (refusing to overwrite); its temporary file ${temp} could not ` +
            "be removed (permission denied) and is left for the next run's sweep",
        });
        assert.ok(existsSync(temp), `${temp} is not there`);
        assert.equal(readFileSync(path, "utf8"), "made meanwhile");
        // The next run's sweep of that directory removes it (its writer is dead).
        sweepStaleTemps(dir);
        assert.deepEqual(readdirSync(dir), ["f"]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
