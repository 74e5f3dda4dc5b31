/**
 * Replication to a real S3-compatible server (s3rver, SigV4-verifying) on 127.0.0.1: the server is
 * killed in the middle of the run and brought back; the replicator logs each failed upload with its
 * retry count, keeps going, and in the end both restores (Litestream's against the same bucket, and
 * ours) have every committed row.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter, writeLitestreamConfig } from "../helpers/litestream.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { openBackend } from "../../lib/backend/open_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { restoreReplica } from "../../lib/litestream/restore.ts";
import { assertRows, makeRoot, startReplicate } from "./replicate_env.ts";

Deno.test("replicate: to S3, server killed and restarted mid-run, every row restored", async () => {
  const s3 = await startS3Server();
  const c = s3.config();
  const url = s3.url("vigo/db");
  const r = await makeRoot({
    syncInterval: "500ms",
    url,
    extraBackup: [
      `endpoint: ${JSON.stringify(c.endpoint)}`,
      `region: ${JSON.stringify(c.region)}`,
      "force_path_style: true",
      `access_key_id: ${JSON.stringify(c.accessKeyId)}`,
      `secret_access_key: ${JSON.stringify(c.secretAccessKey)}`,
    ],
  });
  const writer = startSqliteWriter(r.db, { txPerSecond: 300 });
  try {
    await writer.waitFor(/committed 1 /);
    const repl = await startReplicate(r);
    await sleep(3000);
    await s3.kill(true);
    await sleep(3000);
    await s3.restart();
    await sleep(4000);
    assertEquals(await writer.stop(), 0);
    assertEquals(await repl.stop("SIGTERM"), 0, repl.output());
    const log = repl.output();
    assert(/retry=\d|retry \d+\/\d+/.test(log), `failures logged with a retry count:\n${log}`);
    const lastRetry = Math.max(log.lastIndexOf("retry="), log.lastIndexOf("vigocli: retry"));
    assert(/wal segment uploaded/.test(log.slice(lastRetry)), "uploads resumed after the outage");
    const ids = writer.committed().map((x) => x.id);

    const cfgPath = await writeLitestreamConfig(`${r.root}/litestream.yml`, {
      dbPath: r.db,
      replicaUrl: url,
      endpoint: c.endpoint,
      region: c.region,
      forcePathStyle: true,
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
    });
    const ls = await litestreamRestore({ out: `${r.root}/ls.db`, configPath: cfgPath, dbPath: r.db });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${r.root}/ls.db`, ids, "litestream restore from S3");

    const backend = await openBackend(url, {
      url,
      ...c,
      retentionMs: 0,
      syncIntervalMs: 1000,
      snapshotIntervalMs: 0,
    });
    try {
      await restoreReplica(replicaClientFor(backend), { outputPath: `${r.root}/ours.db` });
    } finally {
      await backend.close();
    }
    await assertRows(`${r.root}/ours.db`, ids, "vigocli restore from S3");
  } finally {
    await writer.stop();
    await s3.stop();
    await Deno.remove(r.root, { recursive: true });
  }
});
