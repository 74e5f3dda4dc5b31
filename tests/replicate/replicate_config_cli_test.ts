/**
 * `vigocli backup replicate` refuses to start, with the documented exit code and a one-line message,
 * when there is nothing to replicate to (no `backup.url`: 3), no database (9) or a file that is none (4), or when the metrics
 * address is malformed (`--addr`: 2, `backup.addr`: 3 with its line).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import { makeRoot } from "./replicate_env.ts";

Deno.test("replicate: no backup.url → exit 3; missing database → exit 9", async () => {
  const r = await makeRoot();
  try {
    const yaml = await Deno.readTextFile(r.yaml);
    const noBackup = `${r.root}/no-backup.yaml`;
    await Deno.writeTextFile(noBackup, yaml.slice(0, yaml.indexOf("backup:")));
    const a = await runCli(["backup", "replicate", "--server-yaml", noBackup, "--server-root", r.root]);
    assertEquals(a.code, 3, a.stderr);
    assert(/backup\.url/.test(a.stderr) && a.stderr.trim().split("\n").length === 1, a.stderr);

    const b = await runCli(["backup", "replicate", "--server-yaml", r.yaml, "--server-root", r.root]);
    assertEquals(b.code, 9, b.stderr);
    assert(b.stderr.includes(r.db), b.stderr);

    // Not a database: exit 4 naming it (was exit 1, "a bug", with SQLite's bare words).
    await Deno.writeFile(r.db, crypto.getRandomValues(new Uint8Array(8192)));
    const c = await runCli(["backup", "replicate", "--server-yaml", r.yaml, "--server-root", r.root]);
    assertEquals(c.code, 4, c.stderr);
    assertEquals(c.stderr, `vigocli: ${r.db}: file is not a database\n`);
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("replicate: a port out of range or a bad IPv4 address: --addr exit 2, backup.addr exit 3 with its line", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    for (const addr of ["127.0.0.1:70000", "256.1.1.1:9090"]) {
      // Before: a server.yaml port out of range passed the config check and exited 2 with no line, and
      // 256.1.1.1 went to the name lookup (exit 11, "not found").
      const yaml = `${r.root}/addr.yaml`;
      await Deno.writeTextFile(yaml, `${await Deno.readTextFile(r.yaml)}  addr: "${addr}"\n`);
      const cfg = await runCli(["backup", "replicate", "--server-yaml", yaml, "--server-root", r.root]);
      assertEquals(cfg.code, 3, cfg.stderr);
      assert(/^vigocli: .*backup\.addr: .*\(line 9\)\n$/.test(cfg.stderr), cfg.stderr);

      const cli = await runCli([
        "backup",
        "replicate",
        "--server-yaml",
        r.yaml,
        "--server-root",
        r.root,
        "--addr",
        addr,
      ]);
      assertEquals(cli.code, 2, cli.stderr);
      assert(/^vigocli: --addr: .*\n$/.test(cli.stderr) && cli.stderr.includes(addr), cli.stderr);
    }
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});
