/**
 * A replicator whose standard output closes — journald restarted, the reader of a log pipe gone — goes on
 * replicating: the log lines it can no longer write are dropped, quietly (an unhandled EPIPE on the stream
 * ended the process under Deno and dumped a stack trace under Bun), and SIGTERM still flushes every
 * committed row and exits 0.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { recordRun } from "../helpers/transcript.ts";
import { assertRows, makeRoot, replicateCommand } from "./replicate_env.ts";

Deno.test("replicate: its stdout closed mid-run, replication goes on and SIGTERM exits 0 with every row", async () => {
  const r = await makeRoot({ syncInterval: "1s" });
  const writer = startSqliteWriter(r.db, { txPerSecond: 200, payload: 64 });
  const [cmd, ...args] = replicateCommand(r);
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
  })();
  let exited = false;
  child.status.then(() => (exited = true));
  let seen = "";
  try {
    await writer.waitFor(/committed 1 /);
    // Read stdout until the replicator has started, then close our end of the pipe.
    const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!/replication started/.test(seen)) {
      const { value, done } = await stdout.read();
      if (done) throw new Error(`replicator stdout ended before it started: ${stderr}`);
      seen += value;
    }
    await stdout.cancel();
    // Several sync intervals, each logging its uploaded segment to the closed stdout.
    await sleep(4_000);
    assertEquals(exited, false, `the replicator exited after its stdout closed:\n${stderr}`);
    assertEquals(/EPIPE/.test(stderr), false, `the closed stdout was reported as an error:\n${stderr}`);
    assertEquals(await writer.stop(), 0);
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0, stderr);
    await stderrDone;
    // What it printed goes to the suite's secret-leak check, like every other run of ours.
    recordRun({ argv: args.slice(cliCommand().length - 1), stdout: seen, stderr });
    const ids = writer.committed().map((c) => c.id);
    const ours = await runCli(["backup", "replica", "restore", "--url", r.url, "-o", `${r.root}/ours.db`]);
    assertEquals(ours.code, 0, ours.stderr);
    await assertRows(`${r.root}/ours.db`, ids, "vigocli restore");
  } finally {
    if (!exited) child.kill("SIGKILL");
    await child.status;
    await writer.kill();
    await Deno.remove(r.root, { recursive: true });
  }
});
