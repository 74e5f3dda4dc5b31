/**
 * `backup drill` whose scratch directory cannot be removed: the report is still written, naming the
 * directory (`scratch_left`, docs/drill-report.md), and the drill ends with one IoError line naming it,
 * exit 11. Before, rm's raw 'EACCES: permission denied, rm' from a path's finally ended the drill with no
 * report written. The removal fails in the kernel (strace on the CLI's unlinkat, the tree removals;
 * tests/helpers/unremovable_temp.ts); skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cliCommand } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { makeServerRoot } from "../archive/fixture.ts";
import { readLatestDrillReport } from "../../lib/drill/drill_report.ts";
import { sweepStaleTemps } from "../../lib/fsutil/stale_temps.ts";

if (!hasStrace) console.warn("drill_left_scratch_test: skipped, strace is not installed");

Deno.test({
  name: "backup drill: a drill whose scratch directory cannot be removed writes its report and names it",
  ignore: !hasStrace,
  async fn() {
    // Nothing configured: every path is not_configured, so only the clean-up can fail the drill.
    const src = await makeServerRoot();
    try {
      const { outcome } = await runWithUnremovableTemp(
        `
        console.log(JSON.stringify({ temp: "" }));
        Deno.stdin.readSync(new Uint8Array(8));
        const [cmd, ...rest] = ${JSON.stringify(cliCommand())};
        const args = [...rest, "backup", "drill", ...${JSON.stringify(src.flags)}];
        const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
        console.log(JSON.stringify({ code: out.code, stderr: new TextDecoder().decode(out.stderr) }));`,
        true,
        false,
        "unlinkat",
      );
      const stderr = String(outcome.stderr);
      const drills = join(src.root, "snapshots", "drills");
      const scratch = readdirSync(drills).filter((n) => n.startsWith(".scratch-"));
      assert.equal(scratch.length, 1, `${readdirSync(drills)}: ${stderr}`);
      const left = join(drills, scratch[0]);
      const latest = await readLatestDrillReport(drills);
      assert.ok(latest, `no report: ${stderr}`);
      assert.deepEqual(latest.report.scratch_left, { path: left, problem: "permission denied" });
      assert.equal(latest.report.ok, true);
      assert.equal(outcome.code, 11, stderr);
      assert.equal(
        stderr.trim(),
        `vigocli: ${latest.path}: the drill is complete; its scratch directory ${left} could not be removed ` +
          "(permission denied) and is left for the next drill's sweep",
      );
      // The next drill's sweep of the drills directory removes it (its drill is dead).
      sweepStaleTemps(drills);
      assert.deepEqual(readdirSync(drills).filter((n) => n.startsWith(".scratch-")), []);
    } finally {
      await Deno.remove(src.root, { recursive: true });
    }
  },
});
