/**
 * Interrupted archive commands (SIGINT while they hold temporary files) exit 130 and leave nothing
 * behind: create no half-written archive or sidecar (and no copy of the database: it reads the live
 * one under a pin); restore no staging directory;
 * verify no extracted database. The signal is sent as soon as the temporary path appears, which is
 * where a cleanup registered one `await` too late used to miss it (seen under qemu-user).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { interruptAt, names } from "../helpers/interrupt.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("SIGINT during create: exit 130, temporary files removed", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  const outDir = join(fx.root, "snapshots");
  // The archive's own temporary file is the first thing create makes.
  await interruptAt(["backup", "create", ...fx.flags, join(outDir, "y.tar.gz")], outDir, ".y.tar.gz.tmp-");
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
  await interruptAt(["backup", "verify", archive], outDir, ".vigo-verify-");
  assert.deepEqual(names(outDir), ["x.tar.gz", "x.tar.gz.sha256"]);
  await Deno.remove(fx.root, { recursive: true });
});
