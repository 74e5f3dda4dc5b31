/**
 * `vigocli backup replicate` refuses to start, with the documented exit code and a one-line message,
 * when there is nothing to replicate to (no `backup.url`: 3) or no database (9).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
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
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});
