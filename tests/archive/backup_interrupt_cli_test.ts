/**
 * Interrupted archive commands (SIGINT while they hold temporary files) exit 130 and leave nothing
 * behind: create no half-written archive or sidecar (and no copy of the database: it reads the live
 * one under a pin); restore no staging directory, also while a worker thread is still creating small
 * files in it, and no target it created itself; verify no extracted database. The signal is sent as soon as the temporary path appears, which is
 * where a cleanup registered one `await` too late used to miss it (seen under qemu-user).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { interruptAt, interruptWhen, names } from "../helpers/interrupt.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("SIGINT during create: exit 130, temporary files removed, the --json document printed", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  const outDir = join(fx.root, "snapshots");
  // The archive's own temporary file is the first thing create makes.
  // With --json: stdout still holds one document, the interruption's (docs/json-output.md).
  await interruptAt(
    ["backup", "create", ...fx.flags, join(outDir, "y.tar.gz"), "--json"],
    outDir,
    ".y.tar.gz.tmp-",
  );
  assert.deepEqual(names(outDir), []);
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("SIGINT during restore and verify: exit 130, staging and extracted database removed", async () => {
  const fx = await makeServerRoot({ rows: 60_000 });
  const outDir = join(fx.root, "snapshots");
  const archive = join(outDir, "x.tar.gz");
  const created = await runCli(["backup", "create", ...fx.flags, archive]);
  assert.equal(created.code, 0, created.stderr);
  const target = join(fx.root, "drill");
  await Deno.mkdir(target);
  await interruptAt(["backup", "restore", archive, "--target", target], target, ".restore-staging-");
  assert.deepEqual(names(target), []);
  await interruptAt(["backup", "verify", archive, "--json"], outDir, ".vigo-verify-");
  assert.deepEqual(names(outDir), ["x.tar.gz", "x.tar.gz.sha256"]);
  await Deno.remove(fx.root, { recursive: true });
});

Deno.test("SIGINT while restore's worker creates small files: the staging directory and a target it made go", async () => {
  const fx = await makeServerRoot({ rows: 500 });
  // Tiny files, so thousands are queued for the file worker when the signal comes: it used to go on
  // creating them while the handler emptied the staging directory, which then stayed (ENOTEMPTY).
  const many = join(fx.root, "stacks", "many");
  await Deno.mkdir(many);
  for (let i = 0; i < 20_000; i++) Deno.writeTextFileSync(join(many, `f${i}.yaml`), `n: ${i}\n`);
  const archive = join(fx.root, "snapshots", "m.tar.gz");
  const created = await runCli(["backup", "create", ...fx.flags, archive]);
  assert.equal(created.code, 0, created.stderr);
  const parent = join(fx.root, "restores");
  await Deno.mkdir(parent);
  const target = join(parent, "new");
  const staged = () => {
    const staging = names(target).find((n) => n.startsWith(".restore-staging-"));
    if (!staging) return 0;
    try {
      return names(join(target, staging, "stacks", "many")).length;
    } catch {
      return 0;
    }
  };
  const namesOrNone = () => {
    try {
      return names(target);
    } catch {
      return [];
    }
  };
  await interruptWhen(
    ["backup", "restore", archive, "--target", target],
    () => namesOrNone().length > 0 && staged() >= 1_000,
  );
  assert.deepEqual(namesOrNone().filter((n) => n.startsWith(".restore-staging-")), [], "staging left behind");
  assert.deepEqual(names(parent), [], "the target restore created is removed too");
  await Deno.remove(fx.root, { recursive: true });
});
