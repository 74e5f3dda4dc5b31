/**
 * Which replica files retention removes, as a pure function. Unlike Litestream v0.3.13 (which
 * deletes the current generation when none of its snapshots is recent enough), the current
 * generation is never deleted, and keeps its newest snapshot even when that is older than the window if
 * it is at the current WAL index (an idle database), so a restore is always possible from what remains.
 */
import type { SnapshotInfo } from "../litestream/replica_client.ts";

/** Inputs. */
export interface RetentionInput {
  /** Every generation in the replica. */
  generations: string[];
  /** Every snapshot in the replica (all generations). */
  snapshots: SnapshotInfo[];
  /** The generation being written now. */
  current: string;
  /** Its WAL index now. */
  currentIndex: number;
  now: Date;
  retentionMs: number;
}

/** What to do. */
export interface RetentionPlan {
  /**
   * True when the current generation has no snapshot inside the window, nor one at its current WAL index:
   * take one, then plan again.
   */
  needSnapshot: boolean;
  /** Whole generations to delete (never the current one). */
  deleteGenerations: string[];
  /** Per generation: delete snapshots and WAL segments whose index is below `index`. */
  deleteBefore: { generation: string; index: number }[];
}

/** Plans retention. */
export function planRetention(input: RetentionInput): RetentionPlan {
  const cutoff = input.now.getTime() - input.retentionMs;
  const retained = input.snapshots.filter((s) => s.createdAt.getTime() > cutoff);
  const minIndex = (gen: string): number | null => {
    const idx = retained.filter((s) => s.generation === gen).map((s) => s.index);
    return idx.length === 0 ? null : Math.min(...idx);
  };
  // With no snapshot inside the window, a new one is taken, unless the newest is at the current WAL
  // index (an idle database): a snapshot is never taken twice at one index, so that one stays the start.
  const latest = Math.max(
    ...input.snapshots.filter((s) => s.generation === input.current).map((s) => s.index),
  );
  const currentMin = minIndex(input.current) ?? (latest === input.currentIndex ? latest : null);
  if (currentMin === null) return { needSnapshot: true, deleteGenerations: [], deleteBefore: [] };
  const plan: RetentionPlan = { needSnapshot: false, deleteGenerations: [], deleteBefore: [] };
  for (const gen of new Set([...input.generations, input.current])) {
    const min = gen === input.current ? currentMin : minIndex(gen);
    if (min === null) plan.deleteGenerations.push(gen);
    else if (min > 0) plan.deleteBefore.push({ generation: gen, index: min });
  }
  return plan;
}
