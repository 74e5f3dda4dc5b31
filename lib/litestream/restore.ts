/**
 * Restores a database from a Litestream v0.3 replica (ours or Litestream's): plan (restore_plan.ts),
 * stream the snapshot into a temp file next to the output, then stream the segments of every WAL
 * index through the verifier — offsets, salts and the checksum chain of every frame — and write each
 * frame's page into the temp file, as SQLite's checkpoint would (wal_replay.ts, wal_apply.ts).
 * Finally integrity_check and fsync (overlapping; the snapshot's pages went to disk while it decoded),
 * and link into place, which fails rather than overwrite OUT.
 * Memory stays at one LZ4 block, one WAL frame and 4 MiB of pages (wal_apply.ts) whatever the database
 * size: blocks are decoded into reused memory and written synchronously before the next is decoded
 * (lz4FrameDecoder).
 */
import { closeSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { BadInputError, ExistsError, toVigoError, VerifyError, VigoError } from "../errors.ts";
import { snapshotKey } from "./paths.ts";
import type { ReplicaClient } from "./replica_client.ts";
import { readListings } from "./replica_list.ts";
import { decodeToFile, localObject, openForWrite } from "./replica_objects.ts";
import { linkIntoPlace } from "./restore_output.ts";
import { planRestore, type RestorePlan } from "./restore_plan.ts";
import { finishDatabase, replayWal } from "./wal_replay.ts";
import { type ProgressPhase, progressPhase } from "../progress.ts";
import { removeOnInterrupt } from "../archive/interrupt_cleanup.ts";
import { tempPathFor } from "../fsutil/atomic_file.ts";
import { EarlyWriteback } from "../fsutil/early_writeback.ts";
import { headerPageSize } from "../sqlite/snapshot_pages.ts";
import { validPageSize } from "../sqlite/wal_format.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { leftTemporaryError, NEXT_RUN_SWEEP, removeTemporaries } from "../fsutil/left_temp.ts";

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
  /** Committed WAL frames applied to the database. */
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
  // One phase per pass over the replica, in stored (compressed) bytes: what the listing knows beforehand.
  const stored = plan.snapshot.size + plan.segments.reduce((n, s) => n + s.size, 0);
  // Registered before any of them exists: a Ctrl-C or SIGTERM must not leave a database-sized hidden
  // file next to the output (exit 130, as every command holding temporary files).
  const forget = tempFiles(tmp).map(removeOnInterrupt);
  try {
    let limits: readonly number[] | undefined;
    let frames = 0;
    for (;;) {
      const progress = progressPhase(`restoring ${where}`, stored, "bytes");
      try {
        const pageSize = await restoreSnapshot(
          client,
          plan,
          tmp,
          limits === undefined ? "wx" : "w",
          log,
          progress,
        );
        const replay = await replayWal(client, plan, tmp, pageSize, limits, log, progress);
        frames = replay.frames;
        if (replay.exact) break;
        if (limits !== undefined) {
          throw new VerifyError(
            `${where}: the replica's WAL segments changed while they were being restored`,
          );
        }
        // Pages of never-committed frames are in the file now. Rare (Litestream and our replicator upload
        // whole transactions), so rather than buffer every transaction until its commit, start over
        // knowing how many frames of each index to apply.
        limits = replay.committedByIndex;
        log("restoring again without the frames no commit covers");
      } finally {
        progress.end();
      }
    }
    // The last fsync, after the WAL and alongside integrity_check. Started before the WAL, a writeback of
    // the whole snapshot held up the pages the WAL writes in place; its early syncs are awaited by then.
    await finishDatabase(tmp, opts.integrityCheck ?? true, where);
    await linkIntoPlace(tmp, opts.outputPath, checkOutput);
    // SQLite's files beside it are gone once it closed; should one stay, the restore is done all the
    // same, and its name (with this PID) is the next restore's to sweep.
    removeTemporaries(tempFiles(tmp));
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
  } catch (err) {
    // Named by the writes to the temporary file that failed: the operator asked for the output, and
    // the temporary file is gone by the time the message is read.
    if (err instanceof VigoError && err.message.startsWith(`${tmp}: `)) {
      err.message = `${opts.outputPath}: ${err.message.slice(tmp.length + 2)}`;
    }
    // Still the error when the temporary database cannot be removed: it then also says so.
    const left = removeTemporaries(tempFiles(tmp));
    if (left) throw leftTemporaryError(toVigoError(err), left.path, left.problem, NEXT_RUN_SWEEP);
    throw err;
  } finally {
    for (const f of forget) f();
  }
}

/** Decodes the snapshot into `tmp` (created, or with "w" replaced); returns the database's page size. */
async function restoreSnapshot(
  client: ReplicaClient,
  plan: RestorePlan,
  tmp: string,
  flags: "wx" | "w",
  log: (l: string) => void,
  progress: ProgressPhase,
): Promise<number> {
  const key = snapshotKey(plan.generation, plan.snapshot.index);
  log(`restoring snapshot ${key} (${plan.snapshot.size} bytes stored)`);
  const fd = openForWrite(tmp, flags);
  // Its pages go to disk while the rest decodes (early_writeback.ts), so the fsync after the WAL finds
  // little left: without it that fsync of 1 GiB took 0.48 s after the last page was written.
  const writeback = new EarlyWriteback(tmp);
  try {
    let first = true;
    let pageSize = 0;
    const body = localObject(client, key) ??
      await client.snapshotReader(plan.generation, plan.snapshot.index);
    const n = await decodeToFile(body, `${client.backend.url}: ${key}`, fd, tmp, progress, (chunk) => {
      if (first && chunk.length > 0) {
        first = false;
        if (chunk.length < 100 || new TextDecoder().decode(chunk.subarray(0, 16)) !== SQLITE_MAGIC) {
          throw new BadInputError(`${client.backend.url}: ${key}: snapshot is not an SQLite database`);
        }
        // The header's page size places every WAL frame's page.
        pageSize = headerPageSize(chunk);
        if (!validPageSize(pageSize)) {
          throw new BadInputError(
            `${client.backend.url}: ${key}: snapshot header has invalid page size ${pageSize}`,
          );
        }
        // Only a WAL-mode database (read/write versions 2) has a WAL whose frames could follow it.
        if (plan.segments.length > 0 && (chunk[18] !== 2 || chunk[19] !== 2)) {
          throw new BadInputError(
            `${client.backend.url}: ${key}: snapshot is not a WAL-mode database (header versions ` +
              `${chunk[18]}/${chunk[19]}), so its WAL segments cannot be applied`,
          );
        }
      }
      writeback.wrote(chunk.length);
    });
    if (n === 0) throw new BadInputError(`${client.backend.url}: ${key}: snapshot is empty`);
    await writeback.close();
    return pageSize;
  } catch (err) {
    await writeback.close().catch(() => {}); // the failure that stopped the decode is the one to report
    throw err;
  } finally {
    closeSync(fd);
  }
}
