/**
 * A streamed body's attempt that is given up — the server answered 401 (sent again with a fresh token)
 * or 503 without reading the rest, or the connection was refused — has its stream cancelled at once,
 * so the caller's file is closed, not held open until the put as a whole ends while the next attempt
 * opens it again. Against a real TCP server and a real file (fixtures/abandoned_body.ts), under Deno
 * and under Bun, the executables' runtime, whose transport leaked other cases than Deno's.
 */
import { npmTool } from "../helpers/tools.ts";
import { assertEquals } from "./assert.ts";
import { abandonedBodyCases, type AbandonedBodyResult } from "./fixtures/abandoned_body.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function check(cases: Record<string, AbandonedBodyResult>): void {
  assertEquals(cases["401"].outcome, "ok 200", "the resend with a fresh token went through");
  // The answer's XML was still read: the stream is given up only after it.
  assertEquals(/server error 503 \(SlowDown\)/.test(cases["503"].outcome), true, cases["503"].outcome);
  assertEquals(/connection refused/.test(cases.refused.outcome), true, cases.refused.outcome);
  assertEquals(Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, v.open])), {
    "401": 0,
    "503": 0,
    refused: 0,
  });
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-abandoned-body-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "object api (Deno): every given-up attempt's stream is cancelled, its file closed",
  ...opts,
  fn: () => inTempDir(async (dir) => check(await abandonedBodyCases(dir))),
});

Deno.test({
  name: "object api (Bun): every given-up attempt's stream is cancelled, its file closed",
  ...opts,
  fn: () =>
    inTempDir(async (dir) => {
      const out = await new Deno.Command(npmTool("bun"), {
        args: [new URL("./fixtures/abandoned_body.ts", import.meta.url).pathname, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      check(JSON.parse(new TextDecoder().decode(out.stdout)));
    }),
});
