/**
 * SIGTERM while the replica is unreachable: `backup replicate` gives up after
 * `backup.shutdown_timeout` (exit 7, one error line naming the replica), keeps the unshipped WAL
 * in its shadow directory, and a start after the outage completes the replica: every committed row
 * restores. The S3 server is the SigV4-checking s3rver, killed and restarted on the same port.
 */
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { existsSync } from "node:fs";
import { background, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import {
  assertRows,
  killReplicators,
  makeS3Root,
  replicateCommand,
  restoreFromS3,
  startReplicate,
} from "./replicate_env.ts";

const TIMEOUT_S = Number(Deno.env.get("VIGO_SHUTDOWN_TEST_TIMEOUT_S") ?? 3);
const OPTS = { syncInterval: "500ms", extraBackup: [`shutdown_timeout: "${TIMEOUT_S}s"`] };

Deno.test(`replicate: SIGTERM during an S3 outage exits within shutdown_timeout (${TIMEOUT_S}s); restart completes the replica`, async () => {
  const s3 = await startS3Server();
  const url = s3.url("down/db");
  const r = await makeS3Root(s3, url, OPTS);
  const writer = startSqliteWriter(r.db, { txPerSecond: 100 });
  try {
    await writer.waitFor(/committed 1 /);
    const first = await startReplicate(r);
    await sleep(1500);
    await s3.kill(true);
    await sleep(2000); // commits keep coming; their uploads fail
    const t0 = performance.now();
    const code = await first.stop("SIGTERM", 60_000);
    const seconds = (performance.now() - t0) / 1000;
    console.error(`stop during the outage took ${seconds.toFixed(1)} s`);
    assertEquals(code, 7, first.output());
    // The bound plus process exit; generous for a loaded 2-core machine.
    assert(seconds < TIMEOUT_S + 3, `exited after ${seconds.toFixed(1)} s`);
    const err = first.output().split("\n").filter((l) => /^vigocli: (?!retry |warning: )/.test(l));
    assertEquals(err.length, 1, err.join("\n"));
    assertMatch(
      err[0],
      /^vigocli: s3:\/\/.*: not flushed within backup\.shutdown_timeout \(\d+s\); the unshipped WAL stays in /,
    );
    assert(existsSync(`${r.root}/db/.vigo.db-vigocli/generation`), "shadow state kept");

    await sleep(1000); // written while nothing replicates
    await s3.restart();
    const second = await startReplicate(r);
    await sleep(1500);
    assertEquals(await writer.stop(), 0);
    assertEquals(await second.stop("SIGTERM"), 0, second.output());

    await restoreFromS3(s3, url, `${r.root}/ours.db`);
    await assertRows(`${r.root}/ours.db`, writer.committed().map((x) => x.id), "restore after the outage");
  } finally {
    await killReplicators();
    await writer.kill();
    await s3.stop();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test(`replicate: SIGTERM while S3 has been down since boot exits within shutdown_timeout (${TIMEOUT_S}s)`, async () => {
  const s3 = await startS3Server();
  const r = await makeS3Root(s3, s3.url("boot/db"), OPTS);
  const writer = startSqliteWriter(r.db, { txPerSecond: 100 });
  try {
    await writer.waitFor(/committed 1 /);
    await s3.kill(true);
    const [cmd, ...args] = replicateCommand(r);
    const repl = background(cmd, args);
    await repl.waitFor(/retry/, 30_000); // its first step is retrying against the dead server
    const t0 = performance.now();
    const code = await repl.stop("SIGTERM", 60_000);
    const seconds = (performance.now() - t0) / 1000;
    console.error(`stop during the boot-time outage took ${seconds.toFixed(1)} s`);
    assertEquals(code, 7, repl.output());
    assert(seconds < TIMEOUT_S + 3, `exited after ${seconds.toFixed(1)} s`);
  } finally {
    await killReplicators();
    await writer.kill();
    await s3.stop();
    await Deno.remove(r.root, { recursive: true });
  }
});
