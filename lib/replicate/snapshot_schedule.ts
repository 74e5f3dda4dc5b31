/**
 * When the replicator snapshots and applies retention, as pure functions of the clock and of what it
 * last did; the replicator (replicator.ts) only gathers the times and carries the verdict out.
 */

/** A periodic snapshot a day after the last one (Litestream's default `snapshot-interval`). */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 86_400_000;
/** Retention keeps 30 days (Litestream's default `retention`). */
export const DEFAULT_RETENTION_MS = 2_592_000_000;
/** Retention is applied at most once an hour, and after every snapshot. */
export const DEFAULT_RETENTION_CHECK_MS = 3_600_000;

/** True once `intervalMs` has passed since the last snapshot (at 0: none yet, so at once). */
export function snapshotDue(now: number, lastSnapshotAt: number, intervalMs: number): boolean {
  return now - lastSnapshotAt >= intervalMs;
}

/** True once `checkMs` has passed since retention last ran (0 after a snapshot: at once). */
export function retentionDue(now: number, lastRetentionAt: number, checkMs: number): boolean {
  return now - lastRetentionAt >= checkMs;
}

/**
 * A stop does not wait for a periodic snapshot (only a new generation's, `first`, must precede its
 * WAL): the WAL flush keeps the replica complete, and the next run takes the snapshot that is due.
 */
export function snapshotDeferred(first: boolean, stopping: boolean): boolean {
  return !first && stopping;
}

/**
 * True when a periodic snapshot at WAL `index` is skipped because the replica has one there already.
 * The v0.3 layout names a snapshot by its WAL index only: a second one at an index (an idle database
 * keeps its index for days) would replace the first and its time, and a restore to a moment between
 * the two would find no snapshot (exit 9) or fall back to an older generation. The first one plus that
 * index's WAL restores every moment since, so it stays.
 */
export function indexHasSnapshot(snapshots: readonly { index: number }[], index: number): boolean {
  return snapshots.some((s) => s.index === index);
}
