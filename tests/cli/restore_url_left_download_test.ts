/**
 * `backup restore URL` whose restore fails and whose download directory then cannot be removed: the
 * restore's failure stays the error, and its line names the directory left. Before, rm's raw 'EACCES:
 * permission denied, rm' from the cleanup in the restore's finally replaced it (exit 11), and a failed
 * download's the same way. The removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts);
 * skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { BadInputError } from "../../lib/errors.ts";

if (!hasStrace) console.warn("restore_url_left_download_test: skipped, strace is not installed");

const VECTOR = fileURLToPath(new URL("../vectors/archive/v1-basic.tar.gz", import.meta.url));
const FAILURE = "x.tar.gz: restore failed";

/** A child that downloads `url` for a restore into `target` that, once strace is attached, fails. */
function restoreUrl(url: string, target: string): string {
  return `
    import { withRemoteArchive } from "${REPO_ROOT}lib/cli/backup_download.ts";
    import { BadInputError } from "${REPO_ROOT}lib/errors.ts";
    const target = ${JSON.stringify(target)};
    try {
      await withRemoteArchive(${JSON.stringify(url)}, target + "/server.yaml", target, undefined, (path) => {
        console.log(JSON.stringify({ temp: path.slice(0, path.lastIndexOf("/")) }));
        Deno.stdin.readSync(new Uint8Array(8));
        throw new BadInputError(${JSON.stringify(FAILURE)});
      });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.exitCode, message: e.message }));
    }`;
}

Deno.test({
  name: "backup restore URL: a failed restore whose download directory cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-restore-url-left-" });
    try {
      const remote = join(dir, "remote");
      mkdirSync(remote);
      copyFileSync(VECTOR, join(remote, "x.tar.gz"));
      copyFileSync(`${VECTOR}.sha256`, join(remote, "x.tar.gz.sha256"));
      const target = join(dir, "target");
      const { temp, outcome } = await runWithUnremovableTemp(
        restoreUrl(`file://${remote}/x.tar.gz`, target),
        true,
      );
      assert.match(temp, new RegExp(`^${dir}/\\.vigo-download-\\d+-`));
      const note = `; its download directory ${temp} could not be removed (permission denied) and is left ` +
        "for removal by hand";
      assert.deepEqual(outcome, { code: new BadInputError("x").exitCode, message: `${FAILURE}${note}` });
      assert.ok(existsSync(join(temp, "x.tar.gz")));
      assert.ok(readdirSync(dir).includes("remote"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
