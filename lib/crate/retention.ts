/**
 * The retention decision: which snapshots to delete. Pure, so it can be tested with a fake clock.
 * A snapshot is pruned when its time is more than `retainDays` days before now; the newest snapshot is
 * never pruned, so a host whose clock jumped (or whose backups stopped) always keeps one restore point.
 */

const DAY_MS = 86_400_000;

/** A snapshot as retention sees it. */
export interface DatedSnapshot {
  name: string;
  time: Date;
}

/** Returns the snapshots to prune, oldest first. */
export function snapshotsToPrune(snapshots: DatedSnapshot[], now: Date, retainDays: number): DatedSnapshot[] {
  if (snapshots.length === 0) return [];
  const sorted = [...snapshots].sort((a, b) => a.time.getTime() - b.time.getTime() || cmp(a.name, b.name));
  const newest = sorted[sorted.length - 1];
  const cutoff = now.getTime() - retainDays * DAY_MS;
  return sorted.filter((s) => s !== newest && s.time.getTime() < cutoff);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
