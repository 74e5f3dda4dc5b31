/**
 * A replica that refuses the final flush outright (a file where its directory must be) ends the stop at
 * once with that error's code, its line saying, as a timed-out flush's does, that the unshipped WAL waits
 * for the next start; it ended with the bare error, the WAL's fate unsaid.
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { createWriterDb, killTree } from "../helpers/litestream.ts";
import { makeRoot, replicateCommand } from "./replicate_env.ts";

Deno.test("replicate: a replica refusing the final flush exits with its error, saying the WAL waits for the next start", async () => {
  const base = await Deno.makeTempDir({ prefix: "vigo-refused-" });
  await Deno.writeTextFile(`${base}/notadir`, "a file where the replica's directory must be\n");
  const r = await makeRoot({
    url: `file://${base}/notadir/replica`,
    extraBackup: ['shutdown_timeout: "30s"'],
  });
  await createWriterDb(r.db);
  const [cmd, ...args] = replicateCommand(r);
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  try {
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    while (!/sync failed/.test(stderr)) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGTERM");
    for (let c = await reader.read(); !c.done; c = await reader.read()) stderr += c.value;
    const stdout = await new Response(child.stdout).text();
    assertEquals((await child.status).code, 11, stderr);
    assertMatch(
      stderr,
      /msg="final flush failed: replica incomplete, unshipped WAL kept for the next start"/,
    );
    const last = stderr.trimEnd().split("\n").at(-1)!;
    assertMatch(
      last,
      /^vigocli: .*notadir: not a directory \(the backend keeps one there\); the unshipped WAL stays in .+ for the next start$/,
    );
    assertEquals(/replication stopped/.test(stdout), false, stdout);
  } finally {
    killTree(child.pid);
    await child.status;
    await Deno.remove(r.root, { recursive: true });
    await Deno.remove(base, { recursive: true });
  }
});
