/**
 * paths.snapshots naming a regular file: create (and its dry run), list and prune agree with the drill
 * on exit 11 naming the path as not a directory. mkdir's EEXIST made create say "already exists"
 * (exit 10, which reads as a refusal to overwrite), and readdir's ENOTDIR made list and prune exit 4.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("paths.snapshots is a file: create, list and prune exit 11 naming it as not a directory", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  try {
    const snapshots = join(fx.root, "snapshots");
    await Deno.remove(snapshots);
    await Deno.writeTextFile(snapshots, "not a directory\n");
    const outDir = join(fx.root, "out");
    await Deno.writeTextFile(outDir, "neither\n");
    const cases: [string[], string, string][] = [
      [["create"], snapshots, "the archive cannot be written there"],
      [["create", "--dry-run"], snapshots, "the archive cannot be written there"],
      [["create", `${outDir}/`], `${outDir}/`, "the archive cannot be written there"],
      [["list"], snapshots, "no archives can be listed there"],
      [["list", "--json"], snapshots, "no archives can be listed there"],
      [["prune", "--keep", "1"], snapshots, "no archives can be listed there"],
      [["prune", "--keep", "1", "--dry-run"], snapshots, "no archives can be listed there"],
    ];
    for (const [args, path, consequence] of cases) {
      const r = await runCli(["backup", ...args, ...fx.flags]);
      const what = `backup ${args.join(" ")}`;
      assert.equal(r.code, 11, `${what}: ${r.stderr}`);
      if (args.includes("--json")) {
        assert.equal(JSON.parse(r.stdout).error.message, `${path}: not a directory; ${consequence}`, what);
      } else assert.equal(r.stderr, `vigocli: ${path}: not a directory; ${consequence}\n`, what);
    }
    assert.equal(await Deno.readTextFile(snapshots), "not a directory\n");
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
