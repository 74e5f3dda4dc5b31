/**
 * docs/archive-format.md §3.1: a wrong stated member length fails either way, in `backup inspect` too,
 * which reads only the members that hold the manifest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

/** Offset of the length subfield's value in a member header: 10 fixed bytes, XLEN, SI1 SI2 LEN. */
const LENGTH_AT = 16;

Deno.test("backup inspect: the manifest's member stating its length one byte off either way is exit 4", async () => {
  const fx = await makeServerRoot();
  try {
    const archive = join(fx.root, "snapshots/a.tar.gz");
    const made = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(made.code, 0, made.stderr);
    const good = await Deno.readFile(archive);
    const stated = new DataView(good.buffer).getUint32(LENGTH_AT, true);
    assert.ok(stated < good.length, "the manifest should fit a member of its own in this archive");
    const ok = await runCli(["backup", "inspect", archive]);
    assert.equal(ok.code, 0, ok.stderr);
    for (const delta of [1, -1]) {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(LENGTH_AT, stated + delta, true);
      const path = join(fx.root, `snapshots/length${delta}.tar.gz`);
      await Deno.writeFile(path, bad);
      const r = await runCli(["backup", "inspect", path]);
      assert.equal(r.code, 4, `length ${delta}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^vigocli: ${path}: not a valid gzip stream \\(.+\\)\\n$`));
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
