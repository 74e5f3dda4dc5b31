/**
 * A dry run of a restore into a target its user cannot search fails as the restore would (exit 11 naming
 * the path), instead of planning every item as new: the plan took EACCES for absence. Run as nobody, as
 * root searches anything; skipped, saying so, where the CLI cannot run as nobody.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliAsNobody, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("restore --dry-run into a target nobody can search: exit 11 naming it, no plan", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const shared = await Deno.makeTempDir({ prefix: "vigo-dry-unreadable-" });
  try {
    const archive = join(shared, "x.tar.gz");
    assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
    for (const f of [archive, `${archive}.sha256`]) await Deno.chmod(f, 0o644);
    const asNobody = await cliAsNobody(shared);
    if (!asNobody) return;
    const target = join(shared, "locked");
    await Deno.mkdir(join(target, "stacks"), { recursive: true });
    await Deno.chmod(target, 0o000);
    const dry = await asNobody("backup", "restore", archive, "--target", target, "--dry-run");
    assert.equal(dry.code, 11, dry.stderr);
    assert.match(dry.stderr, /^vigocli: \S+\/locked\/\S+: permission denied\n$/);
    assert.equal(dry.stdout, "");
  } finally {
    await Deno.chmod(join(shared, "locked"), 0o755).catch(() => {});
    await Deno.remove(shared, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});
