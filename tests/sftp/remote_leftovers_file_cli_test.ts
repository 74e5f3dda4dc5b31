/**
 * What lies in a file:// backend in place of archives: a sidecar alone (a killed prune's leftover) does
 * not hold the name, for `upload` and `create --upload` alike (both exited 10 naming it, while `list
 * --remote` showed nothing there); and a file where archives/ must be is said (exit 11), where `list
 * --remote` and `prune --remote` reported an empty backend and exited 0, and `upload` and `download`
 * named the archive's path below it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

Deno.test("file:// backend: a sidecar alone does not hold the name; archives/ as a file is exit 11", async () => {
  const remote = await Deno.makeTempDir({ prefix: "vigo-remote-left-" });
  const fx = await makeServerRoot({
    yaml: `database:\n  driver: sqlite\nbackup:\n  url: file://${remote}\n`,
  });
  try {
    const archives = join(remote, "archives");
    await Deno.mkdir(archives);
    const local = join(fx.root, "snapshots", "a.tar.gz");
    assert.equal((await runCli(["backup", "create", ...fx.flags, local])).code, 0);
    for (
      const [what, args] of [
        ["upload", ["backup", "upload", local, ...fx.flags]],
        ["create --upload", [
          "backup",
          "create",
          ...fx.flags,
          join(fx.root, "snapshots", "b.tar.gz"),
          "--upload",
        ]],
      ] as const
    ) {
      const name = what === "upload" ? "a.tar.gz" : "b.tar.gz";
      await Deno.writeTextFile(join(archives, `${name}.sha256`), `${"0".repeat(64)}  ${name}\n`);
      const r = await runCli([...args]);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      const stored = await Deno.readFile(join(archives, name));
      const sidecar = await Deno.readTextFile(join(archives, `${name}.sha256`));
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", stored)))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(sidecar.slice(0, 64), digest, `${what}: the sidecar vouches for the archive stored`);
    }

    await Deno.remove(archives, { recursive: true });
    await Deno.writeTextFile(archives, "not a directory\n");
    // upload and download named the archive's path ("archives/a.tar.gz: not a directory"), never there
    for (
      const args of [["list", "--remote"], ["prune", "--remote", "--keep", "1"], ["upload", local], [
        "download",
        "a.tar.gz",
        "--output",
        join(fx.root, "dl.tar.gz"),
      ]]
    ) {
      const r = await runCli(["backup", ...args, ...fx.flags]);
      assert.equal(r.code, 11, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, `vigocli: ${archives}: not a directory (the backend keeps one there)\n`);
    }
  } finally {
    await Deno.remove(remote, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});
