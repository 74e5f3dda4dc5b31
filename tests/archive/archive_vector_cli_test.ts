/**
 * The format-v1 test vector (tests/vectors/archive/, described in docs/archive-format.md): a fixed
 * archive every later version must still inspect, verify and restore exactly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

const VECTORS = join(REPO_ROOT, "tests/vectors/archive");

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("v1 vector: inspect prints the recorded manifest; verify passes; restore reproduces every entry", async () => {
  const archive = join(VECTORS, "v1-basic.tar.gz");
  const expected = JSON.parse(await Deno.readTextFile(join(VECTORS, "v1-basic.manifest.json")));
  const inspect = await runCli(["backup", "inspect", archive]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.deepEqual(JSON.parse(inspect.stdout), expected);

  const verify = await runCli(["backup", "verify", archive]);
  assert.equal(verify.code, 0, verify.stderr);

  const target = await Deno.makeTempDir({ prefix: "vigo-vector-" });
  const restore = await runCli(["backup", "restore", archive, "--target", target]);
  assert.equal(restore.code, 0, restore.stderr);
  for (const e of expected.entries) {
    const p = join(target, e.path);
    const st = await Deno.lstat(p);
    if (e.type === "file") {
      assert.equal(await sha256(p), e.sha256, e.path);
      assert.equal((st.mode! & 0o7777).toString(8).padStart(4, "0"), e.mode, e.path);
      assert.equal(Math.floor(st.mtime!.getTime() / 1000), e.mtime, e.path);
    } else if (e.type === "symlink") {
      assert.equal(await Deno.readLink(p), e.target);
    } else assert.ok(st.isDirectory, e.path);
  }
  assert.equal(
    await sqliteQuery(join(target, "db/vigo.db"), "SELECT group_concat(name) FROM nodes"),
    "web1,web2,db1",
  );
  assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "PRAGMA integrity_check"), "ok");
  await Deno.remove(target, { recursive: true });
});
