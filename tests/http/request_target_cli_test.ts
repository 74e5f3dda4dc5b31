/**
 * Both servers (`backup status --serve`, `backup replicate --addr`) answer a request target that is not
 * a URL (`http://[`, a port above 65535) with 400 and log nothing for it. Before, the parse threw out of
 * the request listener: 200 with an empty body and a ten-line stack trace on stderr per request, which
 * also broke `--log-format json` (every stderr line one JSON object). Methods other than GET and HEAD get
 * 405 with `Allow: GET, HEAD` on both (the metrics server answered POST and DELETE with 200).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";
import { type Background, background, createWriterDb } from "../helpers/litestream.ts";
import { makeRoot, replicateCommand } from "../replicate/replicate_env.ts";
import { rawRequest } from "./raw_http.ts";

const BAD_TARGETS = ["http://[", "http://a:99999/", "/status.json?token=%zz"];

async function port(bg: Background, re: RegExp): Promise<number> {
  await bg.waitFor(re, 120_000);
  return Number(re.exec(bg.output())![1]);
}

/** Runs `check` with a status server (token T) and a replicator (`--log-format json`), then stops both. */
async function withServers(check: (statusPort: number, metricsPort: number) => Promise<void>) {
  const r = await makeRoot();
  await createWriterDb(r.db);
  const [cmd, ...pre] = cliCommand();
  const status = background(cmd, [
    ...pre,
    "backup",
    "status",
    "--server-root",
    r.root,
    "--serve",
    "127.0.0.1:0",
    "--token",
    "T",
  ]);
  const [rcmd, ...rargs] = replicateCommand(r);
  const repl = background(rcmd, [...rargs, "--addr", "127.0.0.1:0", "--log-format", "json"]);
  try {
    const sp = await port(status, /serving the status page on http:\/\/127\.0\.0\.1:(\d+)/);
    const mp = await port(repl, /http:\/\/127\.0\.0\.1:(\d+)/);
    await repl.waitFor(/replication started/, 120_000);
    await check(sp, mp);
    // Still serving after them.
    assertEquals((await rawRequest(mp, "GET", "/metrics")).status, 200);
    assertEquals((await rawRequest(sp, "GET", "/status.json?token=T")).status, 200);
    assertEquals((await rawRequest(sp, "GET", "/status.json")).status, 401);
    assertEquals(await status.stop("SIGTERM"), 0, status.output());
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    assert(!/TypeError|Invalid URL|\n\s+at /.test(status.output()), status.output());
    for (const line of repl.output().split("\n").filter((l) => l !== "")) {
      assert(line.startsWith("{") && typeof JSON.parse(line) === "object", `not one JSON object: ${line}`);
    }
  } finally {
    await status.kill();
    await repl.kill();
    await Deno.remove(r.root, { recursive: true });
  }
}

Deno.test("status --serve and replicate --addr: a target that is not a URL is 400, logged nowhere", async () => {
  await withServers(async (sp, mp) => {
    for (const p of [sp, mp]) {
      for (const target of BAD_TARGETS) {
        const a = await rawRequest(p, "GET", target);
        assertEquals(a.status, 400, `${p} GET ${target}: ${a.body}`);
        assert(a.body.startsWith("bad request"), a.body);
      }
    }
  });
});

Deno.test("status --serve and replicate --addr: POST, PUT, DELETE are 405 with Allow: GET, HEAD", async () => {
  await withServers(async (sp, mp) => {
    for (const [p, path] of [[sp, "/status.json?token=T"], [mp, "/metrics"], [mp, "/healthz"]] as const) {
      for (const method of ["POST", "DELETE", "PUT"]) {
        const a = await rawRequest(p, method, path);
        assertEquals([a.status, a.headers.get("allow")], [405, "GET, HEAD"], `${method} ${path}: ${a.body}`);
      }
      assertEquals((await rawRequest(p, "HEAD", path)).status, 200, `HEAD ${path}`);
    }
  });
});
