/**
 * The shape of `backup status --json` and of the page's `/status.json` (snake_case, version 1): one
 * view of the three recovery paths (archives, configcrate snapshots and dumps, replication) and the
 * last drill. Specified in docs/guide/status.md.
 */
import type { DrillReport } from "../drill/drill_report.ts";

/** One archive as status shows it. */
export interface ArchiveFact {
  name: string;
  /** RFC 3339 UTC. */
  time: string;
  size: number;
  encrypted: boolean | null;
  sidecar: boolean;
  /** The last drill restored exactly this archive and passed. */
  verified_by_drill: boolean;
}

/** Archives in one place (local directory or remote `archives/`). */
export interface ArchiveLocation {
  /** Directory or URL. */
  where: string;
  count: number;
  total_bytes: number;
  /** The newest archive not dated in the future (those are in `dated_in_future`). */
  newest: ArchiveFact | null;
  newest_age_ms: number | null;
  /**
   * Archives whose time is later than now plus a clock-skew allowance (lib/archive/future_dated.ts),
   * newest first: named after a clock that ran ahead, they hold data of unknown age, so none is `newest`;
   * each is one of the summary's problems. Counted in `count` and `total_bytes`.
   */
  dated_in_future: { name: string; time: string }[];
  /**
   * One line when the location could not be read (for the remote one, also when server.yaml's `secret:`
   * values did not resolve); the other fields are then empty.
   */
  error: string | null;
}

/** The `archives` section. */
export interface ArchivesStatus {
  local: ArchiveLocation;
  /** Null when no backup.url is configured. */
  remote: ArchiveLocation | null;
}

/** One configcrate resource's snapshots (hardlink trees) or dumps. */
export interface CrateResourceStatus {
  crate: string;
  /** The configcrate file. */
  file: string;
  resource: string;
  type: "backup" | "db_backup";
  target_path: string;
  count: number;
  /** Name (`YYYY.JJJ.HH.MM`) and time of the newest snapshot. */
  newest: { name: string; time: string } | null;
  newest_age_ms: number | null;
  /** Sum over its snapshots of the bytes each holds alone (`snapshot list`'s unique column). */
  unique_bytes: number;
  last_run: { ran_at: string; status: "created" | "skipped" | "failed"; reason: string | null } | null;
  error: string | null;
}

/** The `snapshots` section. */
export interface SnapshotsStatus {
  /** Where configcrate files were looked for. */
  crates_dir: string;
  resources: CrateResourceStatus[];
  /** Crate files that could not be read, one line each. */
  errors: string[];
}

/** Facts from a running replicator's /metrics. */
export interface LiveReplication {
  url: string;
  healthy: boolean;
  lag_ms: number | null;
  last_upload_at: string | null;
  last_error: string | null;
  generation: string | null;
  wal_index: number | null;
  wal_offset: number | null;
}

/** The `replication` section. */
export interface ReplicationStatus {
  /** backup.url, or null when not configured. */
  url: string | null;
  generations: number;
  /** The generation a restore would use. */
  latest_generation: string | null;
  /** Newest WAL segment of that generation (or its newest snapshot's index, offset 0). */
  newest_position: { index: number; offset: number } | null;
  /** Time of the newest object in the replica. */
  updated_at: string | null;
  /** Age of the newest replicated state: the live lag when a replicator answers, else now − updated_at. */
  lag_ms: number | null;
  /** Null when backup.addr is not set; `reachable: false` when set but nothing answers. */
  live: (LiveReplication & { reachable: true }) | { url: string; reachable: false; error: string } | null;
  error: string | null;
}

/** The answer to "can I recover, and how old would my data be?". */
export interface StatusSummary {
  recoverable: boolean;
  /** Smallest age of a recoverable state over all paths, null when none. */
  best_age_ms: number | null;
  best_path: "archive" | "snapshot" | "replica" | null;
  /** One line per problem found (failed drill, failed crate run, unreachable replica, …). */
  problems: string[];
}

/** The whole status. */
export interface Status {
  version: 1;
  generated_at: string;
  server_root: string;
  summary: StatusSummary;
  archives: ArchivesStatus;
  snapshots: SnapshotsStatus;
  replication: ReplicationStatus;
  /** The newest drill report (docs/drill-report.md) and its file, null when none ran. */
  drill: { path: string; report: DrillReport } | null;
  drill_error: string | null;
}
