/**
 * When the replicator checkpoints, as a pure function. Only two outcomes exist on purpose: a
 * PASSIVE checkpoint (never waits, never blocks the application), optionally followed by a WAL
 * reset that also shrinks the file. SQLite's FULL/RESTART/TRUNCATE modes are never used: they hold
 * the writer lock while waiting for readers, which froze applications under Litestream (#724).
 */

/** Thresholds, in WAL pages (frames). */
export interface CheckpointPolicy {
  /** Checkpoint once the WAL holds this many frames (Litestream: 1000). */
  minFrames: number;
  /** Also shrink the WAL file once it holds this many frames. */
  truncateFrames: number;
  /** Checkpoint a WAL with any frames once the database has been idle this long (ms). */
  idleMs: number;
}

/** Defaults: Litestream's 1000-frame threshold, shrink at 10000 frames (40 MiB at 4 KiB pages), 1 min idle. */
export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = {
  minFrames: 1000,
  truncateFrames: 10000,
  idleMs: 60_000,
};

/** The decision. */
export type CheckpointMode = "none" | "passive" | "truncate";

/**
 * Decides from the number of frames in the WAL and the time since the last write. `walFrames` is the
 * real WAL's size in frames (what a checkpoint would have to copy and what a reset would free).
 */
export function decideCheckpoint(walFrames: number, idleMs: number, p: CheckpointPolicy): CheckpointMode {
  if (walFrames >= p.truncateFrames) return "truncate";
  if (walFrames >= p.minFrames) return "passive";
  if (walFrames > 1 && idleMs >= p.idleMs) return "passive";
  return "none";
}
