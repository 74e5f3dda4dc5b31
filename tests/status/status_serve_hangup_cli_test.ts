/**
 * `backup status --serve` ends on SIGHUP as on SIGINT and SIGTERM: the server closes and the exit is 0.
 * Before, SIGHUP met the runtime's default once the command had replaced start-up's handlers (killed, 129).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";
import { background } from "../helpers/litestream.ts";
import { makeRoot } from "../replicate/replicate_env.ts";

for (const signal of ["SIGHUP", "SIGTERM"] as const) {
  Deno.test(`status --serve: ${signal} closes the server, exit 0`, async () => {
    const r = await makeRoot();
    const [cmd, ...pre] = cliCommand();
    const args = [
      ...pre,
      "backup",
      "status",
      "--server-yaml",
      r.yaml,
      "--server-root",
      r.root,
      "--serve",
      "127.0.0.1:0",
    ];
    const bg = background(cmd, args);
    try {
      await bg.waitFor(/serving the status page on http:\/\/127\.0\.0\.1:\d+/, 120_000);
      assertEquals(await bg.stop(signal), 0, bg.output());
    } finally {
      await bg.kill();
      await Deno.remove(r.root, { recursive: true });
    }
  });
}
