/**
 * `backup status --serve --token`: the token in `?token=` is read as a URL query, percent-decoding only
 * (`openssl rand -base64` tokens have `+`, which form decoding turned into a space: 401); the
 * `Authorization` scheme is case-insensitive (`bearer`, `BEARER`: 401 before); a token a browser could
 * not send in a header (outside printable ASCII, or with a space) is refused at start with exit 2
 * (before, `tok€n` was accepted and then never matched a header).
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { background, createWriterDb } from "../helpers/litestream.ts";
import { makeRoot } from "../replicate/replicate_env.ts";

const TOKEN = "q7+Vb/Xz9k==";

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  await res.body?.cancel();
  return res.status;
}

Deno.test("status --serve: a + in ?token= is a plus, %2B too; the Bearer scheme in any case", async () => {
  const r = await makeRoot();
  await createWriterDb(r.db);
  const [cmd, ...pre] = cliCommand();
  const srv = background(
    cmd,
    [...pre, "backup", "status", "--server-root", r.root, "--serve", "127.0.0.1:0"],
    { VIGO_STATUS_TOKEN: TOKEN },
  );
  try {
    await srv.waitFor(/serving the status page on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    const base = `${/on (http:\/\/127\.0\.0\.1:\d+)/.exec(srv.output())![1]}/status.json`;
    assertEquals(await status(`${base}?token=${TOKEN}`), 200, "literal +");
    assertEquals(await status(`${base}?token=${encodeURIComponent(TOKEN)}`), 200, "%2B");
    assertEquals(await status(`${base}?x=1&token=${TOKEN}&token=other`), 200, "first token= counts");
    assertEquals(await status(`${base}?token=${TOKEN.replace("+", "%20")}`), 401, "a space is not a plus");
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      assertEquals(await status(base, { authorization: `${scheme} ${TOKEN}` }), 200, scheme);
    }
    assertEquals(await status(base, { authorization: `Basic ${TOKEN}` }), 401, "another scheme");
    assertEquals(await status(base, { authorization: "Bearer wrong" }), 401, "wrong token");
  } finally {
    await srv.kill();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("status --serve: a token outside printable ASCII or with a space is exit 2 at start", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const serve = ["backup", "status", "--server-root", r.root, "--serve", "127.0.0.1:0"];
    for (
      const [args, env] of [
        [[...serve, "--token", "tok€n"], {}],
        [serve, { VIGO_STATUS_TOKEN: "tok€n" }],
        [[...serve, "--token", "two words"], {}],
        [[...serve, "--token", "tab\there"], {}],
      ] as const
    ) {
      const res = await runCli([...args], { env: { ...env }, timeoutMs: 60_000 });
      assertEquals(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
      assertMatch(res.stderr, /^vigocli: --token \/ VIGO_STATUS_TOKEN: only printable ASCII without spaces/);
      assertEquals(res.stderr.trimEnd().split("\n").length, 1, res.stderr);
    }
    // --token without --serve guarded nothing and said nothing; VIGO_STATUS_TOKEN may stay set.
    const plain = ["backup", "status", "--server-root", r.root];
    const lone = await runCli([...plain, "--token", "x"]);
    assertEquals(lone.code, 2, lone.stderr);
    assertEquals(lone.stderr, "vigocli: --token: only with --serve (it guards the served page)\n");
    const fromEnv = await runCli(plain, { env: { VIGO_STATUS_TOKEN: "x" } });
    assertEquals(fromEnv.code, 0, fromEnv.stderr);
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});
