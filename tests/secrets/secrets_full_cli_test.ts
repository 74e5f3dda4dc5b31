/**
 * `secret set` where secrets/ cannot take a write, for real: a read-only bind mount and a full tmpfs.
 * Exit 11 with one line naming the file it could not write (the master key while there is none, else
 * the secret), no temporary file, no half-written master key, and a set that works once the
 * directory takes writes again. Mounting needs root: without it the tests are skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("secrets_full_cli_test: skipped, mounting needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const set = (root: string, name: string) =>
  runCli(["secret", "set", name, "--server-root", root], { stdin: "v" });

Deno.test({
  name: "secret set into a read-only secrets/: exit 11 naming the master key it would create, nothing left",
  ignore: !isRoot,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "vigo-secret-ro-" });
    const secrets = join(root, "secrets");
    await Deno.mkdir(secrets);
    await sh(`mount --bind '${secrets}' '${secrets}' && mount -o remount,bind,ro '${secrets}'`);
    try {
      const r = await set(root, "a");
      assert.equal(r.code, 11, r.stderr);
      // Bun's cleanup of the never-made temporary file threw too, and its error, naming that file, won.
      assert.match(r.stderr, new RegExp(`^vigocli: ${secrets}/\\.master\\.key: read-only file system\\n$`));
      assert.deepEqual(names(secrets), []);
      await sh(`umount '${secrets}'`);
      const ok = await set(root, "a");
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(names(secrets), [".master.key", "a"]);
    } finally {
      await sh(`umount '${secrets}' 2>/dev/null || true`);
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "secret set into a full secrets/: exit 11 naming the file, master key whole or absent, no temp",
  ignore: !isRoot,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "vigo-secret-full-" });
    const secrets = join(root, "secrets");
    await Deno.mkdir(secrets);
    await sh(`mount -t tmpfs -o size=64k tmpfs '${secrets}'`);
    try {
      // A dot-file, so secrets/ still holds no secret: this is a new server's first set (one beside a
      // secret is refused before it writes anything, exit 9, whatever the disk).
      await sh(`dd if=/dev/zero of='${secrets}/.filler' bs=4k 2>/dev/null || true`);
      const r = await set(root, "a");
      assert.equal(r.code, 11, r.stderr);
      assert.match(r.stderr, new RegExp(`^vigocli: ${secrets}/\\.master\\.key: no space left on device\\n$`));
      assert.deepEqual(names(secrets), [".filler"]);
      await Deno.remove(join(secrets, ".filler"));
      const ok = await set(root, "a");
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(names(secrets), [".master.key", "a"]);
    } finally {
      await sh(`umount '${secrets}'`);
      await Deno.remove(root, { recursive: true });
    }
  },
});
