/**
 * Continuous, Litestream-compatible replication of one SQLite database: the library face of
 * `vigocli backup replicate`. One loop, one step per sync interval:
 *
 *   shadow WAL catch-up (wal_sync) → snapshot when due (snapshot_schedule, snapshotter) → WAL upload
 *   (wal_uploader) → checkpoint when due (checkpoint_policy) → retention when due (retention)
 *
 * A failed step is logged with its consecutive-failure count and retried on the next tick from the
 * same positions; nothing is skipped. `stop()` finishes the running step, then copies and uploads
 * every committed frame before releasing the database — within `shutdownTimeoutMs`: past it (the
 * replica unreachable), it gives up like a crash would, leaving the fsynced shadow WAL for the next
 * start, which finds its place again from the replica's contents.
 */
import { physicalPath } from "../fsutil/physical_path.ts";
import { openBackend } from "../backends.ts";
import { replicaClientFor } from "../litestream/backend_replica_client.ts";
import type { ReplicaClient } from "../litestream/replica_client.ts";
import { type RestoreOptions, restoreReplica, type RestoreResult } from "../litestream/restore.ts";
import { type CheckpointPolicy, decideCheckpoint, DEFAULT_CHECKPOINT_POLICY } from "./checkpoint_policy.ts";
import { acquireFileLock, type FileLock } from "../fsutil/file_lock.ts";
import { BusyError } from "../errors.ts";
import { removeTemporaryTree } from "../fsutil/left_temp.ts";
import { ReplicaClaim } from "./replica_claim.ts";
import { DbConnections, startFailure } from "./db_conn.ts";
import { consoleSink, type EventSink } from "./event_log.ts";
import { applyRetention } from "./retention_apply.ts";
import { ShadowDir } from "./shadow_wal.ts";
import { GenerationChangedError, takeSnapshot } from "./snapshotter.ts";
import { flushFailed, flushTimedOut, settlesWithin } from "./shutdown_deadline.ts";
import { indexHasSnapshot, retentionDue, snapshotDeferred, snapshotDue } from "./snapshot_schedule.ts";
import { WalSync } from "./wal_sync.ts";
import { resumePosition, WalUploader } from "./wal_uploader.ts";
import { intervalsOf, type ReplicatorIntervals, type ReplicatorOptions } from "./replicator_options.ts";

/** Replicates one database until stopped. */
export class Replicator {
  private readonly opts: ReplicatorOptions;
  private readonly log: EventSink;
  private readonly shadow: ShadowDir;
  private readonly policy: CheckpointPolicy;
  private readonly intervals: ReplicatorIntervals;
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
  private lock: FileLock | null = null;
  private claim: ReplicaClaim | null = null;
  /** The running or finished {@link start}: a stop during it waits for it within the shutdown bound. */
  private starting: Promise<void> | null = null;
  private fatal: BusyError | null = null;
  private onFatal: (err: BusyError) => void = () => {};
  /**
   * Rejects when replication stopped on its own because another replicator writes to the replica
   * (exit 5); never resolves otherwise. Call {@link stop} afterwards to release the database.
   */
  readonly failed: Promise<never> = new Promise<never>((_, reject) => {
    this.onFatal = reject;
  });

  constructor(opts: ReplicatorOptions) {
    // SQLite keeps the -wal and -shm beside the file a symbolic link points to, so everything here (WAL,
    // lock, shadow directory) goes by that file: through the link the WAL was never found.
    this.opts = { ...opts, dbPath: physicalPath(opts.dbPath) };
    this.log = opts.log ?? consoleSink;
    this.shadow = new ShadowDir(this.opts.dbPath);
    this.policy = { ...DEFAULT_CHECKPOINT_POLICY, ...opts.checkpoint };
    this.intervals = intervalsOf(this.opts);
    this.client = opts.client ?? null;
  }

  /** The replica client (opened from the configured URL on first use). */
  async replicaClient(): Promise<ReplicaClient> {
    if (this.client) return this.client;
    if (!this.opts.backup?.url) throw new Error("replicator: no replica URL configured");
    this.client = replicaClientFor(await openBackend(this.opts.backup.url, this.opts.backup.destination));
    return this.client;
  }

  /**
   * Opens the database, catches up (snapshot of a new generation included) and keeps replicating in
   * the background. Rejects when the database cannot be opened or the replica URL is unusable; when
   * only the replica failed (unreachable at boot), it logs the error and keeps retrying every tick,
   * as a backup sidecar should rather than exit.
   */
  async start(): Promise<void> {
    if (this.loop || this.starting) throw new Error("replicator already started");
    this.starting = this.begin();
    await this.starting;
  }

  private async begin(): Promise<void> {
    this.failed.catch(() => {}); // observed through stop() when nobody awaits it
    // Two replicators of one database would both copy the WAL and both upload (interleaving
    // segments); the second one must not even open the database. Lock file: README "Reliability".
    this.lock = await acquireFileLock(
      `${this.opts.dbPath}.vigo-replicate.lock`,
      this.opts.dbPath,
      "backup replicate of this database",
    );
    // Snapshot copies a killed replicator was preparing (each the size of the database): with the lock
    // held, nobody else is writing there. Ones that stay are a warning: replication matters more.
    const tmp = this.shadow.tmpDir();
    const problem = await removeTemporaryTree(tmp);
    if (problem !== undefined) this.log("WARN", "snapshot copies left", { path: tmp, problem });
    try {
      await this.observedStep();
      this.log("INFO", "replication started", {
        db: this.opts.dbPath,
        sync_interval_ms: this.intervals.sync,
      });
    } catch (err) {
      if (!this.wal || this.fatal) {
        this.wal?.close();
        this.wal = null;
        // Claimed before the database was opened; a start that failed leaves the replica free (release
        // deletes only our own claim, never the live one that refused us).
        await this.claim?.release().catch(() => {});
        this.releaseLock();
        throw startFailure(err, this.opts.dbPath);
      }
      this.failures = 1;
      this.log("ERROR", "sync failed", { retry: 1, error: (err as Error)?.message ?? String(err) });
    }
    this.loop = this.run();
  }

  /**
   * Stops after flushing every committed frame to the replica, then releases the database. Throws
   * a BackendError (exit 7) when the flush did not finish within the shutdown timeout; the step still
   * running is then abandoned with the database connections and the lock (the process is expected
   * to exit, which releases them).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.fatal) {
      // Another replicator owns the replica: write nothing more, not even the flush.
      await this.loop;
      this.loop = null;
      this.wal?.close();
      this.wal = null;
      this.releaseLock();
      await this.client?.backend.close();
      throw this.fatal;
    }
    const limit = this.intervals.shutdown;
    const flush = (async () => {
      await this.starting?.catch(() => {});
      if (this.fatal) throw this.fatal;
      await this.loop;
      this.loop = null;
      if (this.wal) await this.stepStartingOver();
      // Yielding to a write-lock holder, we may not read the live WAL; an application's TRUNCATE may
      // have reset the WAL-index with commits we never copied while its file still shows our WAL: done
      // once nothing counted is missing, else try again (for as long as the shutdown timeout allows).
      while (this.wal && !this.wal.stopMayEnd()) {
        await new Promise((r) => setTimeout(r, 100));
        await this.stepStartingOver();
      }
    })();
    if (!(await settlesWithin(flush, limit))) {
      const replica = this.opts.backup?.url ?? "replica";
      throw flushTimedOut(this.log, replica, limit, this.uploader?.pos, this.shadow.root);
    }
    try {
      await flush.catch((err) => {
        // Another replicator's claim found during the flush: its own exit (5), nothing more written.
        if (err === this.fatal) throw err;
        throw flushFailed(this.log, err, this.uploader?.pos, this.shadow.root);
      });
      // Everything is shipped: the replica is free for whoever replicates next (a recovered host).
      await this.claim?.release().catch((err) => {
        this.log("WARN", "replica claim not released", { error: (err as Error)?.message ?? String(err) });
      });
      this.log("INFO", "replication stopped", {
        generation: this.uploader?.pos.generation,
        index: this.uploader?.pos.index,
        offset: this.uploader?.pos.offset,
      });
    } finally {
      this.wal?.close();
      this.wal = null;
      this.releaseLock();
      await this.client?.backend.close();
    }
  }

  /** Claims the replica on first contact, then renews the claim every few seconds (README "Reliability"). */
  private async checkLease(client: ReplicaClient): Promise<void> {
    this.claim ??= new ReplicaClaim(
      this.opts.backup?.url ?? "replica",
      this.opts.dbPath,
      this.intervals.sync,
    );
    try {
      await this.claim.check(client.backend, this.uploader?.pos);
    } catch (err) {
      if (err instanceof BusyError) this.fatal = err;
      throw err;
    }
  }

  /**
   * The claim, tried before the WAL is opened: a replicator refused by another's live claim starts no
   * generation, not even its local shadow's (it logged "new generation", then exited 5). Any other
   * failure (the replica unreachable) is left to the check after the WAL's step, so the WAL is followed
   * meanwhile, as when the replica goes away later.
   */
  private async claimBeforeReading(client: ReplicaClient): Promise<void> {
    try {
      await this.checkLease(client);
    } catch (err) {
      if (this.fatal) throw err;
    }
  }

  private releaseLock(): void {
    this.lock?.release();
    this.lock = null;
  }

  /** Restores the replica into a new file (delegates to the Litestream-compatible restore). */
  async restore(opts: RestoreOptions): Promise<RestoreResult> {
    return await restoreReplica(await this.replicaClient(), opts);
  }

  private async run(): Promise<void> {
    // Fixed cadence: a tick starts every interval after the previous one started (not after it
    // ended), so the time a step takes does not add to the replication lag.
    let next = performance.now() + this.intervals.sync;
    while (!this.stopping) {
      await this.pause(next - performance.now());
      if (this.stopping) break;
      next = Math.max(next + this.intervals.sync, performance.now());
      try {
        await this.observedStep();
        if (this.failures > 0) this.log("INFO", "replication recovered", { failures: this.failures });
        this.failures = 0;
      } catch (err) {
        if (this.fatal) {
          this.onFatal(this.fatal);
          break;
        }
        this.failures++;
        this.log("ERROR", "sync failed", {
          retry: this.failures,
          error: (err as Error)?.message ?? String(err),
        });
        if (this.failures > 3) await this.pause(Math.min(30_000, this.intervals.sync * this.failures));
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

  /** {@link step}, reported to the observer. */
  private async observedStep(): Promise<void> {
    const startedAt = Date.now();
    const t0 = performance.now();
    try {
      await this.step();
    } catch (err) {
      this.opts.observer?.stepFailed(err);
      throw err;
    }
    this.opts.observer?.stepSucceeded(startedAt, performance.now() - t0);
  }

  /** {@link step}, again at once after a new generation came during its snapshot, which a stop must not end on. */
  private async stepStartingOver(): Promise<void> {
    for (;;) {
      try {
        return await this.step();
      } catch (err) {
        if (!(err instanceof GenerationChangedError)) throw err;
      }
    }
  }

  /** One replication step. */
  private async step(): Promise<void> {
    const client = await this.replicaClient();
    if (!this.wal) await this.claimBeforeReading(client);
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
    await this.checkLease(client);
    await this.followGeneration(client, res.newGeneration);
    const now = Date.now();
    if (snapshotDue(now, this.lastSnapshotAt, this.intervals.snapshot)) await this.snapshot(client);
    await this.uploader!.upload(wal.state!);
    const mode = decideCheckpoint(wal.walFrames(), wal.conns.idleMs(), this.policy);
    if (mode !== "none" && !this.stopping && now >= this.checkpointRetryAt) {
      if (await wal.checkpoint(mode === "truncate") === false) {
        // A reader (not us) holds an old snapshot: the WAL cannot be reset until it ends. Never
        // wait for it (that is what froze applications, #724); try again later.
        this.checkpointRetryAt = now + Math.max(10_000, 10 * this.intervals.sync);
        this.log("WARN", "checkpoint incomplete: another reader holds an old snapshot", {
          frames: wal.walFrames(),
        });
      }
      // The checkpoint's catch-up may have started a new generation (a WAL restart it could not prove
      // lossless): it gets its snapshot now, before retention uploads anything for it.
      await this.followGeneration(client, false);
    }
    const check = this.intervals.retentionCheck;
    if (retentionDue(now, this.lastRetentionAt, check)) await this.retention(client);
  }

  /**
   * Resumes the WAL's current generation when `newGeneration` (the WAL sync just started one) or when the
   * uploader still follows another generation, or none yet.
   */
  private async followGeneration(client: ReplicaClient, newGeneration: boolean): Promise<void> {
    if (newGeneration || !this.uploader || this.uploader.pos.generation !== this.wal!.state!.generation) {
      await this.resume(client, newGeneration);
    }
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
    // generation it cannot start from (Litestream #631, #627). The uploader follows the generation only
    // once its snapshot is stored: one that failed (a full replica) must be taken again by the next
    // tick, not skipped while WAL segments pile up in a generation no restore can start from.
    const state = wal.state!;
    await this.snapshot(client, true);
    this.uploader = new WalUploader(client, this.shadow, this.log, {
      generation: state.generation,
      index: state.index,
      offset: 0,
    });
  }

  /** Takes and uploads a snapshot (`first`: of a new generation, before its WAL), unless skipped. */
  private async snapshot(client: ReplicaClient, first = false): Promise<void> {
    if (snapshotDeferred(first, this.stopping)) return;
    const st = this.wal!.state!;
    if (!first && indexHasSnapshot(await client.snapshots(st.generation), st.index)) {
      this.log("DEBUG", "snapshot skipped: the WAL index has one already", {
        generation: st.generation,
        index: st.index,
      });
      this.lastSnapshotAt = Date.now();
      return;
    }
    const ctx = {
      client,
      dbPath: this.opts.dbPath,
      tmpDir: this.shadow.tmpDir(),
      wal: this.wal!,
      uploader: this.uploader!,
      log: this.log,
      stopping: () => this.stopping,
    };
    if (!(await takeSnapshot(ctx, first))) return;
    this.lastSnapshotAt = Date.now();
    this.lastRetentionAt = 0;
  }

  private async retention(client: ReplicaClient): Promise<void> {
    const st = this.wal!.state!;
    const r = await applyRetention(
      client,
      { generation: st.generation, index: st.index },
      this.intervals.retention,
      this.log,
    );
    if (r.needSnapshot) await this.snapshot(client);
    this.lastRetentionAt = Date.now();
  }
}
