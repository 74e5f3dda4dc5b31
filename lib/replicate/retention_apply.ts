/**
 * Carries out {@link planRetention} against a replica: lists, plans, deletes, and logs one line per
 * pruning action.
 */
import type { ReplicaClient, SnapshotInfo } from "../litestream/replica_client.ts";
import type { EventSink } from "./event_log.ts";
import { planRetention, type RetentionPlan } from "./retention.ts";

/** Applies retention; returns the plan (its `needSnapshot` tells the caller to snapshot first). */
export async function applyRetention(
  client: ReplicaClient,
  current: { generation: string; index: number },
  retentionMs: number,
  log: EventSink,
  now = new Date(),
): Promise<RetentionPlan> {
  const generations = await client.generations();
  const snapshots: SnapshotInfo[] = [];
  for (const g of generations) snapshots.push(...await client.snapshots(g));
  const plan = planRetention({
    generations,
    snapshots,
    current: current.generation,
    currentIndex: current.index,
    now,
    retentionMs,
  });
  for (const g of plan.deleteGenerations) {
    await client.deleteGeneration(g);
    log("INFO", "retention pruned generation", { generation: g });
  }
  for (const { generation, index } of plan.deleteBefore) {
    const snaps = snapshots.filter((s) => s.generation === generation && s.index < index);
    for (const s of snaps) await client.deleteSnapshot(generation, s.index);
    const segs = (await client.walSegments(generation)).filter((s) => s.index < index);
    await client.deleteWalSegments(segs);
    if (snaps.length + segs.length > 0) {
      log("INFO", "retention pruned", {
        generation,
        before_index: index,
        snapshots: snaps.length,
        wal_segments: segs.length,
      });
    }
  }
  return plan;
}
