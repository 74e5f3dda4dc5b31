/**
 * What a {@link Replicator} is configured with, and the observer it tells about every step (metrics):
 * the library face of `backup replicate`'s settings.
 */
import type { BackupConfig } from "../config/types.ts";
import type { ReplicaClient } from "../litestream/replica_client.ts";
import type { CheckpointPolicy } from "./checkpoint_policy.ts";
import type { EventSink } from "./event_log.ts";
import {
  DEFAULT_RETENTION_CHECK_MS,
  DEFAULT_RETENTION_MS,
  DEFAULT_SNAPSHOT_INTERVAL_MS,
} from "./snapshot_schedule.ts";

/** Options of `Replicator`. */
export interface ReplicatorOptions {
  /** The live database. */
  dbPath: string;
  /** Replica URL (file://, s3://, …) and its options; or pass `client`. */
  backup?: BackupConfig;
  /** A ready replica client (tests, embedding); takes precedence over `backup.url`. */
  client?: ReplicaClient;
  /** Default: backup.syncIntervalMs or 1 s. */
  syncIntervalMs?: number;
  /** Default: backup.snapshotIntervalMs or 24 h. */
  snapshotIntervalMs?: number;
  /** Default: backup.retentionMs or 720 h. */
  retentionMs?: number;
  /** Bound on `Replicator.stop()`'s final flush. Default: backup.shutdownTimeoutMs or 10 s. */
  shutdownTimeoutMs?: number;
  /** How often retention runs (default 1 h, and after every snapshot). */
  retentionCheckMs?: number;
  checkpoint?: Partial<CheckpointPolicy>;
  /** Event lines (default: stdout/stderr). */
  log?: EventSink;
  /** Told the outcome of every sync step (metrics). */
  observer?: StepObserver;
}

/** The times a replicator keeps to, each in ms. */
export interface ReplicatorIntervals {
  sync: number;
  snapshot: number;
  retention: number;
  retentionCheck: number;
  shutdown: number;
}

/** The times of `opts`: its own, else its `backup` settings', else the defaults documented above. */
export function intervalsOf(opts: ReplicatorOptions): ReplicatorIntervals {
  return {
    sync: opts.syncIntervalMs ?? opts.backup?.syncIntervalMs ?? 1000,
    snapshot: opts.snapshotIntervalMs ?? opts.backup?.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS,
    retention: opts.retentionMs ?? opts.backup?.retentionMs ?? DEFAULT_RETENTION_MS,
    retentionCheck: opts.retentionCheckMs ?? DEFAULT_RETENTION_CHECK_MS,
    shutdown: opts.shutdownTimeoutMs ?? opts.backup?.shutdownTimeoutMs ?? 10_000,
  };
}

/** Receives the outcome of each replication step; `startedAtMs` is wall-clock time (ms since epoch). */
export interface StepObserver {
  stepSucceeded(startedAtMs: number, durationMs: number): void;
  stepFailed(err: unknown): void;
}
