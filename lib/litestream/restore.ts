/**
 * Restores a database from a Litestream v0.3 replica (ours or Litestream's): plan (restore_plan.ts),
 * stream the snapshot into a temp file next to the output, then stream the segments of every WAL
 * index into one `<temp>-wal` (wal_join.ts) — checking offsets, salts and the checksum chain of every
 * frame on the way — and let SQLite checkpoint them in with one checkpoint, verifying it applied
 * exactly the committed frames we counted (wal_replay.ts). Finally integrity_check and fsync
 * (overlapping), and link into place, which fails rather than overwrite OUT.
 * Memory stays at one LZ4 block, one WAL frame and the joined WAL's 1 MiB buffer whatever the
 * database size: blocks are decoded into reused memory and written synchronously before the next is
 * decoded (lz4FrameDecoder).
 */
import { closeSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { BadInputError, ExistsError, toVigoError } from "../errors.ts";
import { snapshotKey } from "./paths.ts";
import type { ReplicaClient } from "./replica_client.ts";
import { readListings } from "./replica_list.ts";
import { decodeToFile, localObject, openForWrite } from "./replica_objects.ts";
import { linkIntoPlace, startFsync } from "./restore_output.ts";
import { planRestore, type RestorePlan } from "./restore_plan.ts";
import { replayWal, WAL_BATCH_BYTES } from "./wal_replay.ts";
import { type ProgressPhase, progressPhase } from "../progress.ts";
import { removeOnInterrupt } from "../archive/interrupt_cleanup.ts";
import { tempPathFor } from "../fsutil/atomic_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";

/** Options of {@link restoreReplica}. */
export interface RestoreOptions {
  /** Where the database goes. Must not exist. */
  outputPath: string;
  /** Restore this generation (default: the one with the newest data). */
  generation?: string;
  /** Restore the state as of this time (default: latest). */
  timestamp?: Date;
  /** Run `PRAGMA integrity_check` on the result (default true). */
  integrityCheck?: boolean;
  /**
   * The WAL kept on disk before it is checkpointed and the next index joined (default 256 MiB); bounds
   * the restore's temp space and SQLite's index of that WAL in memory.
   */
  walBatchBytes?: number;
  /** Receives one line per step, for progress output. */
  log?: (line: string) => void;
}

/** What a restore did. */
export interface RestoreResult {
  outputPath: string;
  generation: string;
  snapshotIndex: number;
  /** WAL segments applied. */
  segments: number;
  /** WAL frames SQLite checkpointed into the database. */
  frames: number;
  /** Newest replica object used: the restored state is as of this time. */
  restoredUpTo: Date;
  /** Size of the restored database in bytes. */
  bytes: number;
  warnings: string[];
}

const SQLITE_MAGIC = "SQLite format 3\0";

/** Refuses an output path that exists, or whose stale `-wal` SQLite would replay into it. */
async function checkOutput(out: string): Promise<void> {
  for (const p of [out, `${out}-wal`]) {
    const exists = await stat(p).then(() => true, (err) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw toVigoError(err, p);
    });
    if (exists) {
      throw new ExistsError(
        p === out
          ? `${out}: already exists; refusing to overwrite it (restore to a new path, or move it away first)`
          : `${p}: a stale WAL file sits next to the output; SQLite would replay it into the restored database (remove it first)`,
      );
    }
  }
  await stat(dirname(out)).catch((err) => {
    throw toVigoError(err, dirname(out));
  });
}

/** The temp database and the files SQLite makes beside it. */
const tempFiles = (tmp: string) => [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`];

async function removeTemp(tmp: string): Promise<void> {
  for (const p of tempFiles(tmp)) await rm(p, { force: true });
}

/** Restores the replica behind `client` into `opts.outputPath`. */
export async function restoreReplica(client: ReplicaClient, opts: RestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? (() => {});
  const where = client.backend.url;
  await checkOutput(opts.outputPath);
  const plan = planRestore(await readListings(client), opts, where);
  for (const w of plan.warnings) log(`warning: ${w}`);
  // The temp name carries our PID, so a later restore into this directory removes what a run killed
  // with SIGKILL left behind (a database-sized file), as it does here with its predecessors'.
  sweepStaleTemps(dirname(opts.outputPath));
  const tmp = tempPathFor(opts.outputPath);
  // One phase for the whole download, in stored (compressed) bytes: what the listing knows beforehand.
  const stored = plan.snapshot.size + plan.segments.reduce((n, s) => n + s.size, 0);
  const progress = progressPhase(`restoring ${where}`, stored, "bytes");
  // Registered before any of them exists: a Ctrl-C or SIGTERM must not leave a database-sized hidden
  // file next to the output (exit 130, as every command holding temporary files).
  const forget = tempFiles(tmp).map(removeOnInterrupt);
  try {
    // The disk writes the snapshot while the WAL is fetched and applied, and the checkpointed pages
    // while integrity_check reads (from the page cache): the fsyncs overlap instead of ending the restore.
    await restoreSnapshot(client, plan, tmp, log, progress);
    const snapshotDurable = await startFsync(tmp);
    const walLimit = opts.walBatchBytes ?? WAL_BATCH_BYTES;
    const frames = await replayWal(client, plan, tmp, walLimit, opts.integrityCheck ?? true, log, progress);
    await snapshotDurable.done;
    await linkIntoPlace(tmp, opts.outputPath, checkOutput);
    const bytes = (await stat(opts.outputPath)).size;
    log(`restored ${opts.outputPath} (${bytes} bytes) as of ${plan.restoredUpTo.toISOString()}`);
    return {
      outputPath: opts.outputPath,
      generation: plan.generation,
      snapshotIndex: plan.snapshot.index,
      segments: plan.segments.length,
      frames,
      restoredUpTo: plan.restoredUpTo,
      bytes,
      warnings: plan.warnings,
    };
  } finally {
    progress.end();
    await removeTemp(tmp);
    for (const f of forget) f();
  }
}

async function restoreSnapshot(
  client: ReplicaClient,
  plan: RestorePlan,
  tmp: string,
  log: (l: string) => void,
  progress: ProgressPhase,
): Promise<void> {
  const key = snapshotKey(plan.generation, plan.snapshot.index);
  log(`restoring snapshot ${key} (${plan.snapshot.size} bytes stored)`);
  const fd = openForWrite(tmp, "wx");
  try {
    let first = true;
    const body = localObject(client, key) ??
      await client.snapshotReader(plan.generation, plan.snapshot.index);
    const n = await decodeToFile(body, `${client.backend.url}: ${key}`, fd, tmp, progress, (chunk) => {
      if (first && chunk.length > 0) {
        first = false;
        if (chunk.length < 100 || new TextDecoder().decode(chunk.subarray(0, 16)) !== SQLITE_MAGIC) {
          throw new BadInputError(`${client.backend.url}: ${key}: snapshot is not an SQLite database`);
        }
        // SQLite ignores a -wal file unless the header says WAL mode (read/write versions 2).
        if (plan.segments.length > 0 && (chunk[18] !== 2 || chunk[19] !== 2)) {
          throw new BadInputError(
            `${client.backend.url}: ${key}: snapshot is not a WAL-mode database (header versions ` +
              `${chunk[18]}/${chunk[19]}), so its WAL segments cannot be applied`,
          );
        }
      }
    });
    if (n === 0) throw new BadInputError(`${client.backend.url}: ${key}: snapshot is empty`);
  } finally {
    closeSync(fd);
  }
}
