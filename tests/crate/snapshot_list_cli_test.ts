/** `snapshot list`: time, file count and the bytes only one snapshot holds. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { backupCrate, crateRun, scratch, show, writeTree } from "./fixture.ts";

Deno.test("snapshot list reports time, files and unique bytes", async () => {
  const s = scratch();
  try {
    const src = join(s.dir, "src"), target = join(s.dir, "target");
    writeTree(src, { "same.txt": "x".repeat(1000), "changes.txt": "y".repeat(300) });
    const crate = backupCrate(join(s.dir, "c.yaml"), src, target);
    assert.equal((await crateRun(crate, "2026-03-13T02:00:00Z")).code, 0);
    writeFileSync(join(src, "changes.txt"), "z".repeat(700));
    writeFileSync(join(src, "new.txt"), "n".repeat(50));
    assert.equal((await crateRun(crate, "2026-03-14T02:30:00Z")).code, 0);
    const r = await runCli(["snapshot", "list", target, "--json"]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(JSON.parse(r.stdout), [
      { name: "2026.072.02.00", time: "2026-03-13T02:00:00Z", files: 2, bytes: 1300, unique_bytes: 300 },
      { name: "2026.073.02.30", time: "2026-03-14T02:30:00Z", files: 3, bytes: 1750, unique_bytes: 750 },
    ]);
    const text = await runCli(["snapshot", "list", target]);
    assert.match(
      text.stdout,
      /^SNAPSHOT\tTIME\tFILES\tSIZE\tUNIQUE\n2026\.072\.02\.00\t2026-03-13T02:00:00Z\t2\t/,
    );
    const missing = await runCli(["snapshot", "list", join(s.dir, "nope")]);
    assert.equal(missing.code, 9, show(missing));
    // A target_path that is a symbolic link to the backup disk is listed as the executors write it.
    const link = join(s.dir, "link");
    Deno.symlinkSync(target, link);
    const linked = await runCli(["snapshot", "list", link, "--json"]);
    assert.equal(linked.code, 0, show(linked));
    assert.equal(JSON.parse(linked.stdout).length, 2);
    // A file is there but is no snapshot directory: bad input, said so, not "no such" (9).
    const file = join(src, "same.txt");
    const notDir = await runCli(["snapshot", "list", file]);
    assert.equal(notDir.code, 4, show(notDir));
    assert.equal(notDir.stderr, `vigocli: ${file}: not a directory (snapshots live in one)\n`);
  } finally {
    s.cleanup();
  }
});
