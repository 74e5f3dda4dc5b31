/**
 * A server.yaml `backup.url` that its backend cannot open is refused when server.yaml is read, by a
 * command that never opens the backend (`backup list`), naming the file and the line (exit 3).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

Deno.test("backup list: an uppercase scheme or a bad bucket in backup.url → exit 3 naming server.yaml and the line", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-backup-url-" });
  try {
    for (
      const [url, problem] of [
        ["S3://vigo-backup/x", "S3://vigo-backup/x: expected s3://bucket/path"],
        ["s3://b/x", 's3://b/x: invalid bucket name "b"'],
      ]
    ) {
      await Deno.writeTextFile(
        `${root}/server.yaml`,
        `database:\n  path: db/vigo.db\nbackup:\n  url: ${url}\n`,
      );
      const r = await runCli(["backup", "list", "--server-root", root]);
      assertEquals(
        [r.code, r.stderr],
        [3, `vigocli: ${root}/server.yaml: backup.url: ${problem} (line 4)\n`],
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
