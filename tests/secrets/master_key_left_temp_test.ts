/**
 * Creating the master key on a full disk whose temporary file then cannot be removed: the write's failure
 * stays the error (naming the key's path), and its line names the temporary file left for the next run's
 * sweep. Before, rm's raw 'EACCES: permission denied, rm' from the creation's finally replaced it. The
 * removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts) and the disk is a full tmpfs;
 * skipped, saying so, without strace or root.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../helpers/cli.ts";
import { everyUnlinkFailing, hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";
import { MASTER_KEY_FILE } from "../../lib/secrets/master_key.ts";

const isRoot = process.getuid?.() === 0;
if (!hasStrace || !isRoot) {
  console.warn("master_key_left_temp_test: skipped, needs strace and root (a tmpfs)");
}

/** A child that waits for strace (every unlink failing), then creates the master key in `dir`. */
function createOnce(dir: string): string {
  return everyUnlinkFailing(
    `import { loadOrCreateMasterKey } from "${REPO_ROOT}lib/secrets/master_key.ts";`,
    `loadOrCreateMasterKey(${JSON.stringify(dir)})`,
  );
}

Deno.test({
  name: "master key: a creation on a full disk whose temporary file cannot be removed keeps the failure",
  ignore: !hasStrace || !isRoot,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-master-key-left-" });
    const sh = (cmd: string) => new Deno.Command("sh", { args: ["-c", cmd] }).outputSync();
    assert.ok(sh(`mount -t tmpfs -o size=64k,mode=0755 tmpfs '${dir}'`).success);
    try {
      const secrets = join(dir, "secrets");
      Deno.mkdirSync(secrets, { mode: 0o700 });
      // Every block taken: the key's temporary file is made (an inode), its bytes are not.
      sh(`dd if=/dev/zero of='${dir}/filler' bs=4k 2>/dev/null`);
      const { outcome } = await runWithUnremovableTemp(createOnce(secrets), true);
      const temps = readdirSync(secrets).filter((n) => n.includes(".tmp-"));
      assert.equal(temps.length, 1, String(readdirSync(secrets)));
      const temp = join(secrets, temps[0]);
      const key = join(secrets, MASTER_KEY_FILE);
      assert.deepEqual(outcome, {
        code: 11,
        message: `${key}: no space left on device; its temporary file ${temp} could not be removed ` +
          "(permission denied) and is left for the next run's sweep",
      });
      assert.ok(!existsSync(key));
      sweepStaleTemps(secrets);
      assert.deepEqual(readdirSync(secrets), []);
    } finally {
      sh(`umount '${dir}'`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
