import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

Deno.test("--server-root alone reads <root>/server.yaml, not /srv/vigo/server.yaml", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-root-default-" });
  try {
    await Deno.mkdir(join(root, "snaps"));
    await Deno.writeTextFile(join(root, "server.yaml"), "paths:\n  snapshots: snaps\n");
    const ok = await runCli(["backup", "list", "--server-root", root, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), []);

    const missing = join(root, "elsewhere");
    const bad = await runCli(["backup", "list", "--server-root", missing]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, new RegExp(`${missing}/server\\.yaml: server\\.yaml not found`));

    // An explicit --server-yaml still wins over the root's own file.
    const explicit = await runCli([
      "backup",
      "list",
      "--server-root",
      root,
      "--server-yaml",
      join(missing, "server.yaml"),
    ]);
    assert.equal(explicit.code, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
