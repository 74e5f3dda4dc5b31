/**
 * Configuration and secret files that are not regular files: a FIFO is refused, not waited on (open(2)
 * of one waits for a writer, past SIGTERM: `crate run` on one hung for good), and a link to /dev/zero is
 * refused, not read until memory runs out (`crate run` grew past 6 GB; `secret get` ended in ENOMEM,
 * exit 1). A crate file, server.yaml: exit 3; a secret: exit 6 (a malformed secret file's).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const kinds: [string, (path: string) => Promise<void>, string][] = [
  ["a FIFO", async (path) => {
    assert.equal((await new Deno.Command("mkfifo", { args: [path] }).output()).code, 0);
  }, "a FIFO (named pipe)"],
  ["a link to /dev/zero", (path) => Deno.symlink("/dev/zero", path), "a device"],
];

Deno.test("a crate file, server.yaml or secret that is a FIFO or /dev/zero is refused at once", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    for (const [kind, make, is] of kinds) {
      const crate = join(fx.root, "crate.yaml");
      await make(crate);
      const run = await runCli(["crate", "run", crate], { timeoutMs: 30_000 });
      assert.equal(run.code, 3, `crate ${kind}: ${run.stderr}`);
      assert.equal(run.stderr, `vigocli: ${crate}: crate file is ${is}, not a regular file\n`);
      await Deno.remove(crate);

      const yaml = join(fx.root, "other.yaml");
      await make(yaml);
      const list = await runCli(["backup", "list", "--server-root", fx.root, "--server-yaml", yaml], {
        timeoutMs: 30_000,
      });
      assert.equal(list.code, 3, `server.yaml ${kind}: ${list.stderr}`);
      assert.match(
        list.stderr,
        new RegExp(`other\\.yaml: server\\.yaml is ${is.replace(/[()]/g, "\\$&")}, not`),
      );
      await Deno.remove(yaml);

      const secret = join(fx.root, "secrets/vigo/backup/odd");
      await make(secret);
      const get = await runCli(["secret", "get", "vigo/backup/odd", "--server-root", fx.root], {
        timeoutMs: 30_000,
      });
      assert.equal(get.code, 6, `secret ${kind}: ${get.stderr}`);
      assert.match(get.stderr, new RegExp(`odd: secret file is ${is.replace(/[()]/g, "\\$&")}, not`));
      await Deno.remove(secret);
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
