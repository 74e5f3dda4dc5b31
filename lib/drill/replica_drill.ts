/**
 * The replica path of a drill: the replica on backup.url restored with `backup replica restore`'s
 * engine (every WAL frame checked, integrity_check run) at its latest position and at one random
 * earlier moment of the same generation; the latest state is counted against the live database to
 * measure how much would be lost (RPO).
 */
import { join } from "node:path";
import { removeNamed } from "../fsutil/remove_named.ts";
import { spareTempsInListings } from "../backend/backend.ts";
import { openBackend } from "../backends.ts";
import { replicaClientFor } from "../litestream/backend_replica_client.ts";
import type { ReplicaClient } from "../litestream/replica_client.ts";
import { listReplica } from "../litestream/replica_list.ts";
import { restoreReplica } from "../litestream/restore.ts";
import { formatDuration } from "../config/duration.ts";
import type { DrillPathResult } from "./drill_report.ts";
import { type DrillContext, failureMessage, isUncheckable, notConfigured } from "./drill_context.ts";
import { compareCounts, liveTableCounts, tableCounts } from "./db_facts.ts";
import { pickEarlierTimestamp, recheckDelayMs, replicaRpoSeconds } from "./drill_policy.ts";

/** Runs the replica path. Never throws for a failed check: the result says so. */
export async function drillReplica(ctx: DrillContext): Promise<DrillPathResult> {
  const backup = ctx.config.backup;
  if (!backup) {
    return notConfigured(`${ctx.config.serverYamlPath}: no backup.url (replication is not set up)`);
  }
  const detail: Record<string, unknown> = { url: backup.url, max_rpo_seconds: ctx.maxRpoMs / 1000 };
  let rtoMs: number | null = null;
  try {
    const backend = await openBackend(backup.url, backup.destination);
    spareTempsInListings(backend);
    try {
      const client = replicaClientFor(backend);
      const latestDb = join(ctx.scratch, "latest.db");
      let m = await measureLatest(client, latestDb, ctx);
      rtoMs = m.rtoMs;
      // An idle database's newest replicated state is as old as its last write, so rows written just
      // before the drill counted would make a healthy replica look that old. The replicator ships them
      // within a sync interval: restore once more after two and judge that. A stopped replicator's
      // replica stays as far behind.
      const firstRpo = m.rpo;
      if (m.rpo * 1000 > ctx.maxRpoMs) {
        await new Promise((r) => setTimeout(r, recheckDelayMs(backup.syncIntervalMs)));
        m = await measureLatest(client, latestDb, ctx);
        detail.rechecked = { first_rpo_seconds: firstRpo, rto_ms: m.rtoMs };
      }
      const { latest, cmp, rpo } = m;
      detail.latest = {
        generation: latest.generation,
        timestamp: latest.restoredUpTo.toISOString(),
        integrity_check: "ok", // restoreReplica refuses a result that fails it
        rto_ms: rtoMs,
        rows_missing: cmp.rows_missing,
        tables: cmp.tables,
      };

      const gen = (await listReplica(client)).generations.find((g) => g.generation === latest.generation);
      const first = gen?.snapshots.map((s) => s.createdAt).sort((a, b) => a.getTime() - b.getTime())[0];
      const at = pickEarlierTimestamp(first ?? latest.restoredUpTo, latest.restoredUpTo, ctx.random);
      const t1 = performance.now();
      const earlier = await restoreReplica(client, {
        outputPath: join(ctx.scratch, "earlier.db"),
        generation: latest.generation,
        timestamp: at,
      });
      const earlierMs = Math.round(performance.now() - t1);
      detail.earlier = {
        generation: earlier.generation,
        requested: at.toISOString(),
        timestamp: earlier.restoredUpTo.toISOString(),
        integrity_check: "ok",
        rto_ms: earlierMs,
        tables: Object.entries(tableCounts(earlier.outputPath)).map(([table, rows]) => ({ table, rows })),
      };
      const tooOld = rpo * 1000 > ctx.maxRpoMs
        ? `the live database has ${cmp.rows_missing} row(s) the replica lacks (tables ${
          cmp.differing.join(", ")
        }); newest replicated state is ${formatDuration(Math.round(rpo * 1000))} old, more than the max RPO ${
          formatDuration(ctx.maxRpoMs)
        }`
        : null;
      return { status: tooOld ? "fail" : "pass", rpo_seconds: rpo, rto_ms: rtoMs, message: tooOld, detail };
    } finally {
      await backend.close();
    }
  } catch (err) {
    if (isUncheckable(err, ctx.scratch)) throw err;
    return {
      status: "fail",
      rpo_seconds: null,
      rto_ms: rtoMs,
      message: failureMessage(err),
      detail,
    };
  }
}

/**
 * The replica restored at its latest position into `out`, counted against the live database and
 * removed again with SQLite's files beside it (room for one restore at a time, as the guide promises).
 */
async function measureLatest(client: ReplicaClient, out: string, ctx: DrillContext) {
  const t0 = performance.now();
  const latest = await restoreReplica(client, { outputPath: out });
  const rtoMs = Math.round(performance.now() - t0);
  const comparedAt = new Date();
  const cmp = compareCounts(
    tableCounts(latest.outputPath),
    liveTableCounts(ctx.config.database.path, ctx.lockTimeoutMs),
  );
  // A read-only open of a WAL database leaves its -wal and -shm, which a second restore to the same
  // name would refuse.
  for (const f of [out, `${out}-wal`, `${out}-shm`]) await removeNamed(f);
  return { latest, cmp, rtoMs, rpo: replicaRpoSeconds(cmp, latest.restoredUpTo, comparedAt) };
}
