/**
 * What a running replicator knows about itself, kept for `/metrics` and `/healthz`. Fed from three
 * places without reaching into the replication logic: the event sink (uploads, snapshots,
 * checkpoints), the step observer (each sync's outcome and start time) and the counting replica
 * client (operations). Litestream v0.3.13's metric names are used where the meaning is the same.
 */
import { stat } from "node:fs/promises";
import type { EventLevel, EventSink } from "../replicate/event_log.ts";
import type { StepObserver } from "../replicate/replicator_options.ts";
import type { OperationCounter, ReplicaOperation } from "./counting_client.ts";
import type { MetricFamily } from "./prometheus_text.ts";
import type { DrillReport } from "../drill/drill_report.ts";

/** Options of {@link ReplicationMetrics}. */
export interface ReplicationMetricsOptions {
  dbPath: string;
  /** Replica type label (Litestream's replica name: file, s3, gcs, sftp). */
  replicaName: string;
  syncIntervalMs: number;
  /** Clock (ms since the epoch); tests may pass their own. */
  now?: () => number;
}

/** Replication is current when its last successful sync began at most this many intervals ago. */
export const HEALTHY_INTERVALS = 3;

/** Counters and gauges of one replicator. */
export class ReplicationMetrics {
  readonly opts: ReplicationMetricsOptions;
  private readonly now: () => number;
  private readonly startedAt: number;
  private syncs = 0;
  private syncErrors = 0;
  private syncSeconds = 0;
  private consecutiveFailures = 0;
  private lastError: { message: string; at: number } | null = null;
  /** Start time of the newest successful sync: every frame committed before it is in the replica. */
  private currentAsOf: number | null = null;
  private lastUploadAt: number | null = null;
  private lastSnapshotAt: number | null = null;
  private walBytes = 0;
  private checkpoints = new Map<string, number>();
  private pos: { generation: string; index: number; offset: number } | null = null;
  private operations = new Map<ReplicaOperation, number>();

  constructor(opts: ReplicationMetricsOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Counts replica operations (pass to {@link countingClient}). */
  readonly countOperation: OperationCounter = (op) => {
    this.operations.set(op, (this.operations.get(op) ?? 0) + 1);
  };

  /** The step observer to give the replicator. */
  readonly observer: StepObserver = {
    stepSucceeded: (startedAtMs, durationMs) => {
      this.syncs++;
      this.syncSeconds += durationMs / 1000;
      this.consecutiveFailures = 0;
      this.currentAsOf = Math.max(this.currentAsOf ?? 0, startedAtMs);
    },
    stepFailed: (err) => {
      this.syncErrors++;
      this.consecutiveFailures++;
      this.lastError = { message: (err as Error)?.message ?? String(err), at: this.now() };
    },
  };

  /** Wraps `sink` so that upload, snapshot and checkpoint events are also counted here. */
  tap(sink: EventSink): EventSink {
    return (level: EventLevel, msg: string, fields?: Record<string, unknown>) => {
      this.onEvent(msg, fields ?? {});
      sink(level, msg, fields);
    };
  }

  private onEvent(msg: string, f: Record<string, unknown>): void {
    if (msg === "wal segment uploaded") {
      const size = Number(f.size) || 0;
      this.walBytes += size;
      this.lastUploadAt = this.now();
      this.pos = {
        generation: String(f.generation),
        index: Number(f.index),
        offset: Number(f.offset) + size,
      };
    } else if (msg === "snapshot written") {
      this.lastUploadAt = this.lastSnapshotAt = this.now();
      if (this.pos?.generation !== String(f.generation)) {
        this.pos = { generation: String(f.generation), index: Number(f.index), offset: 0 };
      }
    } else if (msg.startsWith("upload failed")) {
      // Retries inside one step can outlast an outage; the step fails only after the last attempt.
      this.lastError = { message: `${f.what}: ${f.error}`, at: this.now() };
    } else if (msg === "checkpoint") {
      const mode = String(f.mode ?? "passive").split("+").at(-1)!.toUpperCase();
      this.checkpoints.set(mode, (this.checkpoints.get(mode) ?? 0) + 1);
    }
  }

  /** Seconds of committed data the replica may lack now (since the start when never current). */
  lagSeconds(): number {
    return Math.max(0, this.now() - (this.currentAsOf ?? this.startedAt)) / 1000;
  }

  /** True once a sync has succeeded. */
  everSynced(): boolean {
    return this.currentAsOf !== null;
  }

  /** True while the last successful sync began within {@link HEALTHY_INTERVALS} sync intervals. */
  healthy(): boolean {
    return this.everSynced() &&
      this.lagSeconds() * 1000 <= HEALTHY_INTERVALS * this.opts.syncIntervalMs;
  }

  /** Every family, sizes read from the database files now, drill facts from `drill` (newest report). */
  async families(drill: DrillReport | null): Promise<MetricFamily[]> {
    const db = { db: this.opts.dbPath };
    const replica = { ...db, name: this.opts.replicaName };
    const size = async (p: string) => await stat(p).then((s) => s.size, () => null);
    const dbSize = await size(this.opts.dbPath);
    const walSize = await size(`${this.opts.dbPath}-wal`);
    const seconds = (ms: number | null) => (ms === null ? [] : [{ labels: db, value: ms / 1000 }]);
    const g = (name: string, help: string, samples: MetricFamily["samples"]): MetricFamily => ({
      name,
      help,
      type: "gauge",
      samples,
    });
    const c = (name: string, help: string, samples: MetricFamily["samples"]): MetricFamily => ({
      name,
      help,
      type: "counter",
      samples,
    });
    const families: MetricFamily[] = [
      g(
        "litestream_db_size",
        "The current size of the real DB",
        dbSize === null ? [] : [{ labels: db, value: dbSize }],
      ),
      g("litestream_wal_size", "The current size of the real WAL", [{ labels: db, value: walSize ?? 0 }]),
      c("litestream_total_wal_bytes", "Total number of WAL bytes replicated", [{
        labels: db,
        value: this.walBytes,
      }]),
      c("litestream_sync_count", "Number of sync operations performed", [{ labels: db, value: this.syncs }]),
      c("litestream_sync_error_count", "Number of sync errors that have occurred", [
        { labels: db, value: this.syncErrors },
      ]),
      c("litestream_sync_seconds", "Time spent syncing shadow WAL, in seconds", [
        { labels: db, value: this.syncSeconds },
      ]),
      c(
        "litestream_checkpoint_count",
        "Number of checkpoint operations performed",
        [...this.checkpoints].map(([mode, n]) => ({ labels: { ...db, mode }, value: n })),
      ),
      c("litestream_replica_wal_bytes", "The number wal bytes written", [{
        labels: replica,
        value: this.walBytes,
      }]),
      g(
        "litestream_replica_wal_index",
        "The current WAL index",
        this.pos ? [{ labels: replica, value: this.pos.index }] : [],
      ),
      g(
        "litestream_replica_wal_offset",
        "The current WAL offset",
        this.pos ? [{ labels: replica, value: this.pos.offset }] : [],
      ),
      c(
        "litestream_replica_operation_total",
        "The number of replica operations performed",
        [...this.operations].map(([operation, n]) => ({
          labels: { replica_type: this.opts.replicaName, operation },
          value: n,
        })),
      ),
      g(
        "vigocli_replica_generation_info",
        "The generation being replicated (value always 1)",
        this.pos ? [{ labels: { ...replica, generation: this.pos.generation }, value: 1 }] : [],
      ),
      g(
        "vigocli_replication_lag_seconds",
        "Seconds since the start of the last sync that left every committed frame in the replica",
        [{ labels: db, value: this.lagSeconds() }],
      ),
      g("vigocli_replication_healthy", "1 while the lag is within 3 sync intervals (what /healthz reports)", [
        { labels: db, value: this.healthy() ? 1 : 0 },
      ]),
      g("vigocli_sync_interval_seconds", "Configured sync interval", [
        { labels: db, value: this.opts.syncIntervalMs / 1000 },
      ]),
      g("vigocli_sync_consecutive_failures", "Failed syncs since the last successful one", [
        { labels: db, value: this.consecutiveFailures },
      ]),
      g(
        "vigocli_last_upload_timestamp_seconds",
        "Time of the last successful upload (WAL segment or snapshot)",
        seconds(this.lastUploadAt),
      ),
      g(
        "vigocli_last_snapshot_timestamp_seconds",
        "Time of the last snapshot this process uploaded",
        seconds(this.lastSnapshotAt),
      ),
      g(
        "vigocli_replication_last_error_timestamp_seconds",
        "Time of the last failed sync",
        seconds(this.lastError?.at ?? null),
      ),
      g(
        "vigocli_replication_last_error_info",
        "The last failed sync's message (value always 1)",
        this.lastError
          ? [{ labels: { ...db, message: this.lastError.message.slice(0, 300) }, value: 1 }]
          : [],
      ),
    ];
    return families.concat(drillFamilies(drill));
  }
}

/** The last drill as metrics (`vigocli_drill_*`); none when no drill has run. */
function drillFamilies(drill: DrillReport | null): MetricFamily[] {
  if (!drill) return [];
  const paths = Object.entries(drill.paths);
  const per = (pick: (p: typeof paths[number][1]) => number | null) =>
    paths.flatMap(([path, p]) => {
      const v = pick(p);
      return v === null ? [] : [{ labels: { path }, value: v }];
    });
  return [
    {
      name: "vigocli_drill_last_ok",
      help: "1 when the last drill passed, 0 when a path failed or could not be checked",
      type: "gauge",
      samples: [{ value: drill.ok ? 1 : 0 }],
    },
    {
      name: "vigocli_drill_last_timestamp_seconds",
      help: "When the last drill finished",
      type: "gauge",
      samples: [{ value: Date.parse(drill.finished_at) / 1000 }],
    },
    {
      name: "vigocli_drill_path_status",
      help: "Outcome of each recovery path in the last drill (value 1 on the outcome's label)",
      type: "gauge",
      samples: paths.map(([path, p]) => ({ labels: { path, status: p.status }, value: 1 })),
    },
    {
      name: "vigocli_drill_rpo_seconds",
      help: "Age of the newest recoverable state per path",
      type: "gauge",
      samples: per((p) => p.rpo_seconds),
    },
    {
      name: "vigocli_drill_rto_seconds",
      help: "Wall time of each path's restore in the last drill",
      type: "gauge",
      samples: per((p) => (p.rto_ms === null ? null : p.rto_ms / 1000)),
    },
  ];
}
