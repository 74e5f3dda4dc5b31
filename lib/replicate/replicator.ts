/**
 * Continuous, Litestream-compatible replication of one SQLite database: the library face of
 * `vigocli backup replicate`. One loop, one step per sync interval:
 *
 *   shadow WAL catch-up (wal_sync) → snapshot when due (snapshotter) → WAL upload (wal_uploader)
 *   → checkpoint when due (checkpoint_policy) → retention when due (retention)
 *
 * A failed step is logged with its consecutive-failure count and retried on the next tick from the
 * same positions; nothing is skipped. `stop()` finishes the running step, then copies and uploads
 * every committed frame before releasing the database.
 */
import type { BackupConfig } from "../config/types.ts";
import { openBackend } from "../backends.ts";
import { replicaClientFor } from "../litestream/backend_replica_client.ts";
import type { ReplicaClient } from "../litestream/replica_client.ts";
import { type RestoreOptions, restoreReplica, type RestoreResult } from "../litestream/restore.ts";
import { type CheckpointPolicy, decideCheckpoint, DEFAULT_CHECKPOINT_POLICY } from "./checkpoint_policy.ts";
import { DbConnections } from "./db_conn.ts";
import { consoleSink, type EventSink } from "./event_log.ts";
import { applyRetention } from "./retention_apply.ts";
import { ShadowDir } from "./shadow_wal.ts";
import { discardSnapshot, prepareSnapshot, uploadSnapshot } from "./snapshotter.ts";
import { WalSync } from "./wal_sync.ts";
import { resumePosition, WalUploader } from "./wal_uploader.ts";

/** Options of {@link Replicator}. */
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
  /** How often retention runs (default 1 h, and after every snapshot). */
  retentionCheckMs?: number;
  checkpoint?: Partial<CheckpointPolicy>;
  /** Event lines (default: stdout/stderr). */
  log?: EventSink;
}

/** Replicates one database until stopped. */
export class Replicator {
  private readonly opts: ReplicatorOptions;
  private readonly log: EventSink;
  private readonly shadow: ShadowDir;
  private readonly policy: CheckpointPolicy;
  private client: ReplicaClient | null;
  private wal: WalSync | null = null;
  private uploader: WalUploader | null = null;
  private lastSnapshotAt = 0;
  private lastRetentionAt = 0;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private failures = 0;
  private checkpointRetryAt = 0;

  constructor(opts: ReplicatorOptions) {
    this.opts = opts;
    this.log = opts.log ?? consoleSink;
    this.shadow = new ShadowDir(opts.dbPath);
    this.policy = { ...DEFAULT_CHECKPOINT_POLICY, ...opts.checkpoint };
    this.client = opts.client ?? null;
  }

  private get syncIntervalMs(): number {
    return this.opts.syncIntervalMs ?? this.opts.backup?.syncIntervalMs ?? 1000;
  }

  /** The replica client (opened from the configured URL on first use). */
  async replicaClient(): Promise<ReplicaClient> {
    if (this.client) return this.client;
    if (!this.opts.backup?.url) throw new Error("replicator: no replica URL configured");
    this.client = replicaClientFor(await openBackend(this.opts.backup.url, this.opts.backup));
    return this.client;
  }

  /**
   * Opens the database, catches up (snapshot of a new generation included) and keeps replicating in
   * the background. Rejects when the database cannot be opened or the replica URL is unusable; when
   * only the replica failed (unreachable at boot), it logs the error and keeps retrying every tick,
   * as a backup sidecar should rather than exit.
   */
  async start(): Promise<void> {
    if (this.loop) throw new Error("replicator already started");
    try {
      await this.step();
      this.log("INFO", "replication started", {
        db: this.opts.dbPath,
        sync_interval_ms: this.syncIntervalMs,
      });
    } catch (err) {
      if (!this.wal) throw err;
      this.failures = 1;
      this.log("ERROR", "sync failed", { retry: 1, error: (err as Error)?.message ?? String(err) });
    }
    this.loop = this.run();
  }

  /** Stops after flushing every committed frame to the replica, then releases the database. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
    try {
      if (this.wal) await this.step();
      this.log("INFO", "replication stopped", {
        generation: this.uploader?.pos.generation,
        index: this.uploader?.pos.index,
        offset: this.uploader?.pos.offset,
      });
    } finally {
      this.wal?.close();
      this.wal = null;
      await this.client?.backend.close();
    }
  }

  /** Restores the replica into a new file (delegates to the Litestream-compatible restore). */
  async restore(opts: RestoreOptions): Promise<RestoreResult> {
    return await restoreReplica(await this.replicaClient(), opts);
  }

  private async run(): Promise<void> {
    // Fixed cadence: a tick starts every interval after the previous one started (not after it
    // ended), so the time a step takes does not add to the replication lag.
    let next = performance.now() + this.syncIntervalMs;
    while (!this.stopping) {
      await this.pause(next - performance.now());
      if (this.stopping) break;
      next = Math.max(next + this.syncIntervalMs, performance.now());
      try {
        await this.step();
        if (this.failures > 0) this.log("INFO", "replication recovered", { failures: this.failures });
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.log("ERROR", "sync failed", {
          retry: this.failures,
          error: (err as Error)?.message ?? String(err),
        });
        if (this.failures > 3) await this.pause(Math.min(30_000, this.syncIntervalMs * this.failures));
      }
    }
  }

  /** Waits `ms`, or less when {@link stop} is called: a stop never waits out a tick or a backoff. */
  private async pause(ms: number): Promise<void> {
    if (this.stopping) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((r) => {
      this.wake = r;
      timer = setTimeout(r, Math.max(0, ms));
    });
    clearTimeout(timer);
    this.wake = null;
  }

  /** One replication step. */
  private async step(): Promise<void> {
    const client = await this.replicaClient();
    let fresh = false;
    if (this.wal && this.wal.conns.replaced()) {
      this.log("WARN", "database file replaced; reopening", { db: this.opts.dbPath });
      this.wal.close();
      this.wal = null;
    }
    if (!this.wal) {
      const wal = new WalSync(this.opts.dbPath, this.shadow, new DbConnections(this.opts.dbPath), this.log);
      if (this.uploader) wal.forceNewGeneration("database file replaced");
      else await wal.load();
      this.wal = wal;
      fresh = (await wal.begin()).newGeneration;
    }
    const wal = this.wal;
    const res = fresh ? { newGeneration: true, copied: 0 } : await wal.tick();
    const st = wal.state!;
    if (res.newGeneration || !this.uploader || this.uploader.pos.generation !== st.generation) {
      await this.resume(client, res.newGeneration);
    }
    const now = Date.now();
    const snapshotDue = now - this.lastSnapshotAt >=
      (this.opts.snapshotIntervalMs ?? this.opts.backup?.snapshotIntervalMs ?? 86_400_000);
    if (snapshotDue) await this.snapshot(client);
    await this.uploader!.upload(wal.state!);
    const mode = decideCheckpoint(wal.walFrames(), wal.conns.idleMs(), this.policy);
    if (mode !== "none" && !this.stopping && now >= this.checkpointRetryAt) {
      if (await wal.checkpoint(mode === "truncate") === false) {
        // A reader (not us) holds an old snapshot: the WAL cannot be reset until it ends. Never
        // wait for it (that is what froze applications, #724); try again later.
        this.checkpointRetryAt = now + Math.max(10_000, 10 * this.syncIntervalMs);
        this.log("WARN", "checkpoint incomplete: another reader holds an old snapshot", {
          frames: wal.walFrames(),
        });
      }
    }
    if (now - this.lastRetentionAt >= (this.opts.retentionCheckMs ?? 3_600_000)) await this.retention(client);
  }

  /** Finds the replica position for the current generation, snapshotting it first when needed. */
  private async resume(client: ReplicaClient, newGeneration: boolean): Promise<void> {
    const wal = this.wal!;
    const st = wal.state!;
    const r = newGeneration
      ? { kind: "no-snapshot" as const }
      : await resumePosition(client, this.shadow, st);
    if (r.kind === "ok") {
      this.uploader = new WalUploader(client, this.shadow, this.log, r.pos);
      this.lastSnapshotAt = r.lastSnapshotAt.getTime();
      return;
    }
    if (r.kind === "inconsistent") {
      this.log("WARN", "replica does not continue the shadow WAL", { reason: r.reason });
      wal.forceNewGeneration(r.reason);
      await wal.sync();
    }
    // A generation's snapshot goes up before any of its WAL segments: a restore then never picks a
    // generation it cannot start from (Litestream #631, #627).
    const state = wal.state!;
    this.uploader = new WalUploader(client, this.shadow, this.log, {
      generation: state.generation,
      index: state.index,
      offset: 0,
    });
    await this.snapshot(client, true);
  }

  /**
   * Takes and uploads a snapshot. Unless the generation is new, the WAL is first caught up and
   * uploaded past the moment of the copy, so the replica never pairs the snapshot with older WAL.
   */
  private async snapshot(client: ReplicaClient, first = false): Promise<void> {
    // A stop does not wait for a periodic snapshot (only a new generation needs one before its WAL):
    // the WAL flush keeps the replica complete, and the next run takes the snapshot that is due.
    if (!first && this.stopping) return;
    const wal = this.wal!;
    const st = wal.state!;
    const snap = await prepareSnapshot(this.opts.dbPath, this.shadow.tmpDir(), st.generation, st.index);
    if (!first && this.stopping) return await discardSnapshot(snap);
    const after = await wal.sync();
    if (after.newGeneration) {
      await discardSnapshot(snap);
      throw new Error("generation changed while snapshotting; will start over");
    }
    if (!first) await this.uploader!.upload(wal.state!);
    await uploadSnapshot(client, snap, this.log);
    this.lastSnapshotAt = Date.now();
    this.lastRetentionAt = 0;
  }

  private async retention(client: ReplicaClient): Promise<void> {
    const st = this.wal!.state!;
    const r = await applyRetention(
      client,
      st.generation,
      this.opts.retentionMs ?? this.opts.backup?.retentionMs ?? 2_592_000_000,
      this.log,
    );
    if (r.needSnapshot) await this.snapshot(client);
    this.lastRetentionAt = Date.now();
  }
}
