/**
 * `backup status` with an S3 endpoint that accepts connections and never answers (a hung proxy). Before,
 * `--json` took over 5 minutes (6 attempts of 60 s per listing) and `--serve` answered neither `/` nor
 * `/status.json` meanwhile; and the page started another collection for every request 5 s after the
 * previous start while one was still waiting, so the hung connections grew 2, 4, 6 … with each refresh.
 * Now each section gives up after 20 s and says so in its `error`, the local facts still show, and the
 * page runs one collection at a time: until the work of the timed-out one has ended, requests get the
 * last status at once and the endpoint sees no new connection.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { background, createWriterDb, sleep } from "../helpers/litestream.ts";
import { makeRoot, type TestRoot } from "../replicate/replicate_env.ts";
import type { Status } from "../../lib/status/status_model.ts";

const TIMED_OUT = /^timed out after 20 s \(no answer\)$/;

/** A TCP listener that accepts every connection and never reads or writes; counts them. */
function hungEndpoint(): { port: number; accepted: () => number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const c of listener) conns.push(c);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => conns.length,
    close: () => {
      listener.close();
      for (const c of conns) c.close();
    },
  };
}

async function hungRoot(port: number): Promise<TestRoot> {
  const r = await makeRoot({
    url: "s3://bucket/x",
    extraBackup: [
      `endpoint: "http://127.0.0.1:${port}"`,
      'region: "us-east-1"',
      "force_path_style: true",
      'access_key_id: "AK"',
      'secret_access_key: "SK"',
    ],
  });
  await createWriterDb(r.db);
  return r;
}

/** The remote sections timed out; the local archives still read. */
function assertTimedOut(s: Status): void {
  assert(TIMED_OUT.test(s.archives.remote?.error ?? ""), JSON.stringify(s.archives.remote));
  assert(TIMED_OUT.test(s.replication.error ?? ""), JSON.stringify(s.replication));
  assertEquals(s.replication.url, "s3://bucket/x");
  assertEquals(s.archives.local.error, null);
  assert(
    s.summary.problems.some((p) => p.startsWith("replication: timed out after 20 s")),
    s.summary.problems.join("\n"),
  );
}

Deno.test("status --json: a hung S3 endpoint is a timed-out section after 20 s, exit 0", async () => {
  const hung = hungEndpoint();
  const r = await hungRoot(hung.port);
  try {
    const t0 = performance.now();
    const res = await runCli(["backup", "status", "--server-root", r.root, "--json"], { timeoutMs: 90_000 });
    assertEquals(res.code, 0, res.stderr);
    assertTimedOut(JSON.parse(res.stdout));
    console.error(`status --json took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    hung.close();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("status --serve: a hung S3 endpoint; pages answer, one collection at a time", async () => {
  const hung = hungEndpoint();
  const r = await hungRoot(hung.port);
  const [cmd, ...pre] = cliCommand();
  const srv = background(cmd, [
    ...pre,
    "backup",
    "status",
    "--server-root",
    r.root,
    "--serve",
    "127.0.0.1:0",
  ]);
  const get = async (path: string, timeoutMs: number) => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  };
  let base = "";
  try {
    await srv.waitFor(/serving the status page on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(srv.output())![1];
    const first = await get("/status.json", 60_000);
    assertEquals(first.status, 200, first.text);
    const status: Status = JSON.parse(first.text);
    assertTimedOut(status);
    const held = hung.accepted();
    assert(held > 0, "the collection reached the endpoint");
    // Past the 5 s between collections, twice, as a page refreshing every 10 s would be: the timed-out
    // work still waits on its connections, so no other collection starts; the last status answers.
    for (let i = 0; i < 2; i++) {
      await sleep(6_000);
      const again = await get("/status.json", 5_000);
      assertEquals(again.status, 200, again.text);
      assertEquals(JSON.parse(again.text).generated_at, status.generated_at);
      assertEquals((await get("/", 5_000)).status, 200);
      assertEquals(hung.accepted(), held, "no new connection to the hung endpoint");
    }
  } finally {
    await srv.kill();
    hung.close();
    await Deno.remove(r.root, { recursive: true });
  }
});
