/**
 * An interrupted create (SIGINT while the archive is being written) exits 130 and leaves nothing
 * behind: no database copy, no half-written archive, no sidecar.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("SIGINT during create: exit 130, temporary files removed", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  const outDir = join(fx.root, "snapshots");
  const child = spawnCli(["backup", "create", ...fx.flags, join(outDir, "x.tar.gz")]);
  const leftovers = () => [...Deno.readDirSync(outDir)].map((e) => e.name);
  const deadline = Date.now() + 60_000;
  while (!leftovers().some((n) => n.startsWith(".vigo-backup-")) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /interrupted/);
  assert.deepEqual(leftovers(), []);
  await Deno.remove(fx.root, { recursive: true });
});
