/**
 * `backup install-units --force` that installed its units and then could not remove the copy it kept of
 * a unit it replaced: one line naming the copy, saying the units are installed and who removes it.
 * Before, AtomicFile.abort()'s raw 'EACCES: permission denied, rm' (exit 11, naming nothing) came out of
 * an install that had happened. The removal fails in the kernel (strace,
 * tests/helpers/unremovable_temp.ts); skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { everyUnlinkFailing, hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { installUnits } from "../../lib/systemd/install_units.ts";

if (!hasStrace) console.warn("install_units_left_copy_test: skipped, strace is not installed");

const UNIT = { name: "vigo-x.service", text: "[Unit]\nDescription=new\n" };

/** A child that waits for strace (every unlink failing), then installs UNIT into `dir` with force. */
function installOnce(dir: string): string {
  return everyUnlinkFailing(
    `import { installUnits } from "${REPO_ROOT}lib/systemd/install_units.ts";`,
    `installUnits([${JSON.stringify(UNIT)}], { dir: ${JSON.stringify(dir)}, force: true })`,
  );
}

Deno.test({
  name: "install-units: a replaced unit's copy that cannot be removed is named, the install standing",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-units-left-copy-" });
    try {
      writeFileSync(join(dir, UNIT.name), "[Unit]\nDescription=edited by hand\n");
      const { outcome } = await runWithUnremovableTemp(installOnce(dir), true);
      const copies = readdirSync(dir).filter((n) => n.startsWith(`.${UNIT.name}.tmp-`));
      assert.equal(copies.length, 1, String(readdirSync(dir)));
      const copy = join(dir, copies[0]);
      assert.deepEqual(outcome, {
        code: 11,
        message: `${copy}: could not be removed (permission denied) after the units were installed; ` +
          "the next install-units removes it",
      });
      assert.equal(readFileSync(join(dir, UNIT.name), "utf8"), UNIT.text);
      // The next install-units removes it (its writer is dead).
      const again = await installUnits([UNIT], { dir });
      assert.deepEqual(again.leftovers, [copy]);
      assert.deepEqual(readdirSync(dir), [UNIT.name]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
