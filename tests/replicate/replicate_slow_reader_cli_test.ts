/**
 * A replicator stopped while the reader of its log is slow still hands that reader every line: a pipe
 * takes 64 KiB at once and the runtime holds the rest, which the exit dropped (3,000 warnings about
 * server.yaml arrived as 417 lines).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createWriterDb, killTree } from "../helpers/litestream.ts";
import { makeRoot, replicateCommand } from "./replicate_env.ts";

Deno.test("replicate: stopped while its log's reader is slow, every line still reaches the reader", async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `unknown_key_number_${i}_and_some_padding: 1`);
  const r = await makeRoot({ extraBackup: keys });
  await createWriterDb(r.db);
  const [cmd, ...args] = replicateCommand(r);
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    // The warnings go to stderr before "replication started" on stdout. Its reader comes a second after
    // the start (or after 3 s: under Deno a write to a full pipe waits for the reader, so the start does).
    let seen = "";
    let started!: () => void;
    const startedSeen = new Promise<void>((resolve) => (started = resolve));
    const stdoutDone = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        seen += text;
        if (/replication started/.test(seen)) started();
      }
    })();
    const stderrRead = (async () => {
      await Promise.race([startedSeen, sleep(3000)]);
      await sleep(1000);
      return await new Response(child.stderr).text();
    })();
    await startedSeen;
    child.kill("SIGTERM");
    const stderr = await stderrRead;
    await stdoutDone;
    assertEquals((await child.status).code, 0, stderr.slice(-500));
    assertEquals(stderr.match(/: unknown key, ignored/g)?.length, 3000, stderr.slice(-300));
    assertEquals(/replication stopped/.test(seen), true, seen);
  } finally {
    killTree(child.pid);
    await child.status;
    await Deno.remove(r.root, { recursive: true });
  }
});
