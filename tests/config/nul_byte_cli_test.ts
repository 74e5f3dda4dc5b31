/**
 * A NUL byte where a path is configured: in a replica URL as %00 (the command line's `--url`, or
 * server.yaml's `backup.url`), or in a configcrate's value as YAML's "\0". No file name holds one, and
 * the file system's refusal of such a path was an internal error (exit 1) whose line held the raw byte;
 * now a configuration error (exit 3) naming the URL or the crate's key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

Deno.test("a NUL byte in a replica URL or a crate value is a configuration error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-nul-" });
  try {
    const url = `file://${dir}/rep%00x`;
    const list = await runCli(["backup", "replica", "list", "--url", url]);
    assert.equal(list.code, 3, list.stderr);
    assert.equal(list.stderr, `vigocli: ${url}: %00 (a NUL byte) in the URL\n`);

    const yaml = join(dir, "server.yaml");
    await Deno.writeTextFile(yaml, `database:\n  driver: sqlite\nbackup:\n  url: "${url}"\n`);
    const remote = await runCli(["backup", "list", "--remote", "--server-yaml", yaml, "--server-root", dir]);
    assert.equal(remote.code, 3, remote.stderr);
    assert.match(remote.stderr, /server\.yaml: backup\.url: .*%00 \(a NUL byte\) in the URL \(line 4\)\n$/);

    const crate = join(dir, "c.yaml");
    await Deno.writeTextFile(
      crate,
      `name: a\nresources:\n  - name: r\n    type: backup\n    source_dir: "${dir}/src\\0x"\n    target_path: ${dir}/t\n`,
    );
    const run = await runCli(["crate", "run", crate, "--now"]);
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stderr, `vigocli: ${crate}: resources[0].source_dir: holds a NUL byte ("\\0")\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
