/**
 * A target whose db/ is a filesystem of its own cannot take a restore (it stages inside the target and
 * renames into place): refused before anything is extracted, naming the mount, exit 11, the target
 * untouched. It failed after the whole extraction with "crosses a filesystem boundary". Root only (a
 * tmpfs mount).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash } from "./fixture.ts";

Deno.test({
  name: "restore into a target whose db/ is another filesystem: refused before extraction, exit 11",
  ignore: process.getuid?.() !== 0,
  async fn() {
    const src = await makeServerRoot({ rows: 20 });
    const archive = join(src.root, "snapshots", "a.tar.gz");
    assert.equal((await runCli(["backup", "create", ...src.flags, archive])).code, 0);
    const dst = await makeServerRoot({ rows: 10 });
    const db = join(dst.root, "db");
    const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", db] })
      .output();
    assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
    try {
      const before = await treeHash(dst.root);
      for (const extra of [[], ["--db-only"]]) {
        const r = await runCli(["backup", "restore", archive, "--target", dst.root, "--force", ...extra]);
        assert.equal(r.code, 11, r.stderr);
        assert.equal(
          r.stderr,
          `vigocli: ${db}: on another filesystem than ${dst.root} (a mount point): restore stages inside the ` +
            "target and renames into place, which cannot cross filesystems; nothing was restored\n",
        );
        assert.deepEqual(await treeHash(dst.root, (p) => p.endsWith(".vigo-restore.lock")), before);
      }
    } finally {
      await new Deno.Command("umount", { args: [db] }).output();
    }
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  },
});
