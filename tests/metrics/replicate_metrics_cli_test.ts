/**
 * `backup replicate --addr`: /metrics parses with a real Prometheus text parser and carries
 * Litestream's names plus ours; with the S3 server killed, the measured lag rises and /healthz turns
 * 503; when it returns, the lag falls back and /healthz is 200 again. The last drill report shows up.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { background } from "../helpers/litestream.ts";
import { cliCommand, runCli } from "../helpers/cli.ts";
import { killReplicators, makeS3Root, replicateCommand } from "../replicate/replicate_env.ts";
import { writeDrillReport } from "../../lib/drill/drill_report.ts";
import { drillReport } from "./drill_fixture.ts";

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value: string }[];
}

async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  assertEquals(res.status, 200);
  assert(res.headers.get("content-type")!.startsWith("text/plain; version=0.0.4"));
  const families: Family[] = parsePrometheus(await res.text());
  return new Map(families.map((f) => [f.name, f]));
}

function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = m.get(name);
  assert(f, `metric ${name} present`);
  const s = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  assert(s, `${name}${JSON.stringify(labels)} present`);
  return Number(s.value);
}

async function healthz(base: string): Promise<number> {
  const res = await fetch(`${base}/healthz`);
  await res.body?.cancel();
  return res.status;
}

async function waitUntil(what: string, timeoutMs: number, cond: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(200);
  }
  return performance.now() - t0;
}

Deno.test("replicate --addr: metrics parse; lag and /healthz follow an S3 outage", async () => {
  const s3 = await startS3Server();
  const r = await makeS3Root(s3, s3.url("vigo/db"), { syncInterval: "1s" });
  const writer = startSqliteWriter(r.db, { txPerSecond: 50 });
  try {
    await writer.waitFor(/committed 1 /);
    const [cmd, ...args] = replicateCommand(r);
    const pre = cliCommand().length - 1; // runCli adds the program and its leading arguments itself
    const repl = background(cmd, [...args, "--addr", "127.0.0.1:0"]);
    await repl.waitFor(/serving \/metrics and \/healthz on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    const base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(repl.output())![1];
    await repl.waitFor(/replication started/, 120_000);
    await writeDrillReport(`${r.root}/snapshots/drills`, drillReport(60_000, true));

    await waitUntil("healthz 200 at start", 10_000, async () => (await healthz(base)) === 200);
    await sleep(1500);
    const m = await scrape(base);
    const db = { db: r.db };
    assert(value(m, "litestream_db_size", db) > 0);
    assert(value(m, "litestream_sync_count", db) >= 2);
    assertEquals(m.get("litestream_sync_count")!.type, "COUNTER");
    assert(value(m, "litestream_replica_wal_bytes", { name: "s3" }) > 0);
    assert(value(m, "litestream_replica_wal_offset", { name: "s3" }) > 0);
    assert(value(m, "litestream_replica_operation_total", { replica_type: "s3", operation: "PUT" }) > 0);
    const lag0 = value(m, "vigocli_replication_lag_seconds", db);
    assert(lag0 < 3, `lag while healthy: ${lag0}`);
    assert(Date.now() / 1000 - value(m, "vigocli_last_upload_timestamp_seconds", db) < 5);
    assert(value(m, "vigocli_last_snapshot_timestamp_seconds", db) > 0);
    assertEquals(value(m, "vigocli_drill_last_ok"), 0);
    assertEquals(value(m, "vigocli_drill_path_status", { path: "replica", status: "fail" }), 1);

    await s3.kill(true);
    const toUnhealthy = await waitUntil(
      "healthz 503 with S3 down",
      20_000,
      async () => (await healthz(base)) === 503,
    );
    const lagA = value(await scrape(base), "vigocli_replication_lag_seconds", db);
    await sleep(1500);
    const down = await scrape(base);
    const lagB = value(down, "vigocli_replication_lag_seconds", db);
    assert(lagA > 3 && lagB > lagA + 1, `lag rises while S3 is down: ${lagA} then ${lagB}`);
    assertEquals(value(down, "vigocli_replication_healthy", db), 0);

    await s3.restart();
    const toHealthy = await waitUntil(
      "healthz 200 after S3 returns",
      90_000,
      async () => (await healthz(base)) === 200,
    );
    const lagC = value(await scrape(base), "vigocli_replication_lag_seconds", db);
    assert(lagC < 3, `lag falls after recovery: ${lagC}`);
    console.error(
      `503 after ${Math.round(toUnhealthy)} ms; lag ${lagA}→${lagB} s down; 200 ${
        Math.round(toHealthy)
      } ms after restart, lag ${lagC} s`,
    );

    assertEquals(await writer.stop(), 0);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());

    // A taken port is "busy" (5) before anything replicates; a malformed address is a usage error (2).
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    try {
      const busy = await runCli([...args.slice(pre), "--addr", `127.0.0.1:${port}`]);
      assertEquals(busy.code, 5, busy.stderr);
      assert(busy.stderr.includes(`127.0.0.1:${port}: address already in use`), busy.stderr);
    } finally {
      taken.close();
    }
    assertEquals((await runCli([...args.slice(pre), "--addr", "9090"])).code, 2);
  } finally {
    await killReplicators();
    await writer.kill();
    await s3.stop();
    await Deno.remove(r.root, { recursive: true });
  }
});
