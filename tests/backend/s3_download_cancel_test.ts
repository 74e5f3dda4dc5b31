/**
 * A download given up during its retry backoff lets the process end at once: the backoff (up to 15 s
 * by default) ends with the cancel. A real process (fixtures/cancel_in_backoff.ts, under Deno and under
 * Bun) reads from s3rver, the server is killed mid-body, and the child cancels when its retry line
 * comes, with a backoff of days; it must then exit by itself within a second.
 */
import { npmTool } from "../helpers/tools.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";
import { patternStream } from "./conformance.ts";
import { assert, assertEquals } from "./assert.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FIXTURE = new URL("./fixtures/cancel_in_backoff.ts", import.meta.url).pathname;

async function cancelledInBackoff(cmd: string[]): Promise<void> {
  const server = await startS3Server();
  try {
    await openS3Backend(server.url("dl"), server.config()).put("big.bin", patternStream(64 * 1024 * 1024, 5));
    const child = new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), FIXTURE],
      env: { S3_TEST_CONFIG: JSON.stringify({ url: server.url("dl"), key: "big.bin", ...server.config() }) },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    const until = async (re: RegExp) => {
      while (!re.test(out)) {
        const { done, value } = await lines.read();
        if (done) throw new Error(`child ended before ${re}: ${out}${await stderr}`);
        out += value;
      }
    };
    await until(/^reading$/m);
    await server.kill(true);
    await child.stdin.close();
    await until(/retry 1\/6 in \d+ ms: get .*connection lost/);
    const retried = performance.now();
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const status = await child.status;
    const took = performance.now() - retried;
    clearTimeout(killer);
    while (!(await lines.read()).done) { /* drain */ }
    assert(Number(/in (\d+) ms/.exec(out)![1]) > 60_000, out);
    assertEquals(status.code, 0, `${out}${await stderr}`);
    assert(took < 1000, `the process ended ${Math.round(took)} ms after the cancel`);
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "s3 download (Deno): a cancel during the retry backoff lets the process end at once",
  ...opts,
  fn: () => cancelledInBackoff([Deno.execPath(), "run", "-A"]),
});

Deno.test({
  name: "s3 download (Bun): a cancel during the retry backoff lets the process end at once",
  ...opts,
  fn: () => cancelledInBackoff([npmTool("bun")]),
});
