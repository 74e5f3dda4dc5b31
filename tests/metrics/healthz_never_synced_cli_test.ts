/**
 * `/healthz` before any sync has succeeded says so. Before, it blamed the lag, counted from the start:
 * "not current: lag 1.938s exceeds 3.000s", a lag below the limit said to exceed it.
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { background, createWriterDb } from "../helpers/litestream.ts";
import { makeRoot, replicateCommand } from "../replicate/replicate_env.ts";

Deno.test("replicate --addr: /healthz before the first successful sync names that, not the lag", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-healthz-" });
  // A replica below a regular file: no sync can succeed.
  await Deno.writeTextFile(`${root}/notadir`, "");
  const r = await makeRoot({ url: `file://${root}/notadir/replica`, syncInterval: "10s" });
  await createWriterDb(r.db);
  const [cmd, ...args] = replicateCommand(r);
  const repl = background(cmd, [...args, "--addr", "127.0.0.1:0"]);
  try {
    await repl.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 120_000);
    const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(repl.output())![1];
    const res = await fetch(`${base}/healthz`);
    const body = await res.text();
    assertEquals(res.status, 503, body);
    assertMatch(body, /^not current: no sync has succeeded yet \(started \d+\.\d{3}s ago\)\n$/);
  } finally {
    await repl.kill();
    await Deno.remove(r.root, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});
