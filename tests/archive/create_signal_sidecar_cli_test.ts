/**
 * A signal at the rename that puts create's sidecar in place (the archive comes after it) left the
 * sidecar alone under its final name, exit 130 "temporary files removed" (found by review against the
 * executable). strace delivers SIGTERM at that rename's entry; which rename it is comes from a traced
 * create first (a run from sources may rename Deno's cache files too).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand } from "../helpers/cli.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";
import { makeServerRoot } from "./fixture.ts";

async function tracedCreate(flags: string[], out: string, strace: string[]): Promise<number> {
  const args = ["-f", "-qq", "-e", "trace=rename,renameat,renameat2", ...strace, ...cliCommand()];
  args.push("backup", "create", ...flags, out);
  return (await new Deno.Command("strace", { args, stdout: "null", stderr: "null" }).output()).code;
}

Deno.test({
  name: "SIGTERM at the sidecar's rename: exit 130 and neither the archive nor its sidecar left",
  ignore: !hasStrace,
  async fn() {
    const fx = await makeServerRoot({ rows: 20 });
    const snapshots = join(fx.root, "snapshots");
    const trace = join(fx.root, "trace.txt");
    await tracedCreate(fx.flags, join(snapshots, "first.tar.gz"), ["-o", trace]);
    await tracedCreate(fx.flags, join(snapshots, "second.tar.gz"), ["-o", trace]);
    const renames = Deno.readTextFileSync(trace).split("\n").filter((l) => /rename/.test(l));
    const at = renames.findIndex((l) => l.includes(`second.tar.gz.sha256"`));
    assert.ok(at >= 0, renames.join("\n"));
    const out = join(snapshots, "third.tar.gz");
    const code = await tracedCreate(fx.flags, out, [
      "-o",
      "/dev/null",
      "-e",
      `inject=rename,renameat,renameat2:signal=SIGTERM:when=${at + 1}`,
    ]);
    const left = [...Deno.readDirSync(snapshots)].map((e) => e.name).filter((n) => n.includes("third"))
      .sort();
    // The handler runs between two pieces of JavaScript: Deno (from sources) may finish the create first.
    if (code === 0) assert.deepEqual(left, ["third.tar.gz", "third.tar.gz.sha256"]);
    else assert.deepEqual([code, left], [130, []]);
    await Deno.remove(fx.root, { recursive: true });
  },
});
