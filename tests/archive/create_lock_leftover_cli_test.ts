/**
 * `backup create`'s lock file (`<OUT>.vigo-create.lock`) is gone after every create that gets to run its
 * exit: a SIGINT or SIGTERM from the moment it exists removes it. A create killed outright (SIGKILL)
 * leaves it; `backup list` ignores it, and the next create in that directory or a prune removes it,
 * never one a running create holds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { interruptAt, names } from "../helpers/interrupt.ts";
import { acquireFileLock } from "../../lib/fsutil/file_lock.ts";
import { makeServerRoot } from "./fixture.ts";

/** Starts a create to `out` and SIGKILLs it once its lock file exists. */
async function killedCreate(flags: string[], out: string): Promise<void> {
  const child = spawnCli(["backup", "create", ...flags, out]);
  const lock = `${out}.vigo-create.lock`;
  const deadline = Date.now() + 60_000;
  while (!(await Deno.lstat(lock).then(() => true, () => false)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill("SIGKILL");
  await child.output();
  assert.ok(names(join(out, "..")).includes(`${out.split("/").pop()}.vigo-create.lock`), "the kill left it");
}

Deno.test("create interrupted as soon as its lock file exists: exit 130, the lock file removed", async () => {
  const fx = await makeServerRoot({ rows: 20_000 });
  const outDir = join(fx.root, "snapshots");
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    await interruptAt(
      ["backup", "create", ...fx.flags, join(outDir, "y.tar.gz")],
      outDir,
      "y.tar.gz.vigo-create.lock",
      signal,
    );
    assert.deepEqual(names(outDir), [], signal);
  }
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("a SIGKILLed create's lock file: list ignores it, prune and the next create remove it, a held one stays", async () => {
  const fx = await makeServerRoot({ rows: 20_000 });
  const snaps = join(fx.root, "snapshots");
  const live = await acquireFileLock(join(snaps, "live.tar.gz.vigo-create.lock"), "live", "test");
  try {
    await killedCreate(fx.flags, join(snaps, "k.tar.gz"));
    const list = await runCli(["backup", "list", "--json", ...fx.flags]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), []);
    const prune = await runCli(["backup", "prune", "--keep", "1", ...fx.flags]);
    assert.equal(prune.code, 0, prune.stderr);
    // (The killed create's temporary file, if it got that far, goes too: prune_leftovers_cli_test.)
    assert.deepEqual(names(snaps).filter((n) => n.endsWith(".lock")), ["live.tar.gz.vigo-create.lock"]);

    await killedCreate(fx.flags, join(snaps, "k.tar.gz"));
    const create = await runCli(["backup", "create", ...fx.flags, join(snaps, "r.tar.gz")]);
    assert.equal(create.code, 0, create.stderr);
    assert.deepEqual(names(snaps), ["live.tar.gz.vigo-create.lock", "r.tar.gz", "r.tar.gz.sha256"]);
  } finally {
    live.release();
    await Deno.remove(fx.root, { recursive: true });
  }
});
