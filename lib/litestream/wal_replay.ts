/**
 * The WAL half of a replica restore: every WAL index's segments streamed through the verifier, which
 * checks offsets and every frame, into the database file itself (wal_apply.ts); last, the restored
 * file's fsync with integrity_check alongside.
 */
import { closeSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { BadInputError, IoError, VerifyError } from "../errors.ts";
import { sqliteToVigoError } from "../sqlite/sqlite_errors.ts";
import { asBackend } from "../backend/backend.ts";
import { FileBackend } from "../backend/file/file_backend.ts";
import { hex8, walSegmentKey } from "./paths.ts";
import type { ReplicaClient, WalSegmentInfo } from "./replica_client.ts";
import { decodeToSink, localObject, openForWrite } from "./replica_objects.ts";
import { SegmentPrefetcher } from "./segment_prefetch.ts";
import { startFsync } from "./restore_output.ts";
import { type RestorePlan, segmentsByIndex } from "./restore_plan.ts";
import { WalFormatError, WalVerifier } from "./wal_verifier.ts";
import { WalApply } from "./wal_apply.ts";
import type { ProgressPhase } from "../progress.ts";

/** What {@link replayWal} applied. */
export interface WalReplay {
  /** Committed frames over every index. */
  frames: number;
  /** False when frames no commit covers were written: restore again with `committedByIndex` as limits. */
  exact: boolean;
  committedByIndex: readonly number[];
}

/**
 * Streams the segments of every WAL index into `db`, a database of `pageSize`-byte pages, verifying
 * offsets and every frame; with `limits`, applies only that many frames of each index in turn.
 */
export async function replayWal(
  client: ReplicaClient,
  plan: RestorePlan,
  db: string,
  pageSize: number,
  limits: readonly number[] | undefined,
  log: (l: string) => void,
  progress: ProgressPhase,
): Promise<WalReplay> {
  const groups = segmentsByIndex(plan.segments);
  // A file replica is read directly (localObject); prefetching only hides a remote store's latency.
  const local = asBackend(client.backend, FileBackend) !== undefined;
  const prefetch = new SegmentPrefetcher(client, local ? [] : plan.segments);
  const fd = openForWrite(db, "r+");
  try {
    const apply = new WalApply(fd, db, pageSize, limits);
    for (const group of groups) {
      const before = apply.committedFrames;
      const wasExact = apply.exact;
      await applyIndex(client, prefetch, plan.generation, group, apply, progress);
      const index = hex8(group[0].index);
      log(
        `fetched WAL index ${index}: ${group.length} segment(s), ${
          apply.committedFrames - before
        } committed frame(s)`,
      );
      if (wasExact && !apply.exact) log(`WAL index ${index} ends with frames no commit covers`);
    }
    progress.end();
    apply.finish();
    return { frames: apply.committedFrames, exact: apply.exact, committedByIndex: apply.committedByIndex };
  } finally {
    closeSync(fd);
    await prefetch.close();
  }
}

/** Streams one WAL index's segments into `apply`, verifying offsets and every frame. */
async function applyIndex(
  client: ReplicaClient,
  prefetch: SegmentPrefetcher,
  generation: string,
  group: WalSegmentInfo[],
  apply: WalApply,
  progress: ProgressPhase,
): Promise<void> {
  const where = client.backend.url;
  const verifier = new WalVerifier(apply);
  for (const [i, seg] of group.entries()) {
    const key = walSegmentKey(generation, seg.index, seg.offset);
    if (seg.offset !== verifier.offset || !verifier.aligned) {
      const what = seg.offset > verifier.offset
        ? `the previous segments end at WAL offset ${verifier.offset}, so the bytes in between are missing`
        : `it overlaps the previous segments, which end at WAL offset ${verifier.offset}`;
      const prev = group[i - 1];
      const way = prev
        ? ` The newest consistent state ends at ${walSegmentKey(generation, prev.index, prev.offset)}; ` +
          `restore up to it with --timestamp ${prev.createdAt.toISOString()}.`
        : "";
      throw new BadInputError(
        `${where}: ${key}: WAL gap: segment starts at offset ${seg.offset} but ${what}.${way}`,
      );
    }
    try {
      const body = localObject(client, key) ?? await prefetch.next();
      await decodeToSink(body, `${where}: ${key}`, progress, (c) => verifier.update(c));
    } catch (err) {
      if (err instanceof WalFormatError) throw new BadInputError(`${where}: ${key}: ${err.message}`);
      throw err;
    }
  }
  try {
    verifier.finish();
  } catch (err) {
    const last = group[group.length - 1];
    const key = walSegmentKey(generation, last.index, last.offset);
    if (err instanceof WalFormatError) throw new BadInputError(`${where}: ${key}: ${err.message}`);
    throw err;
  }
  apply.endIndex();
}

/** Starts the fsync of `db` and runs integrity_check (when `check`) while the disk writes. */
export async function finishDatabase(db: string, check: boolean, where: string): Promise<void> {
  const durable = await startFsync(db);
  try {
    if (check) integrityCheck(db, where);
  } finally {
    await durable.done;
  }
}

function integrityCheck(db: string, where: string): void {
  const conn = new DatabaseSync(db);
  try {
    let rows: { integrity_check: string }[];
    try {
      rows = conn.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    } catch (err) {
      // A full or failing disk under the output (SQLite needs room beside it for the check) is the
      // output's problem, not the replica's.
      const io = sqliteToVigoError(err, db);
      if (io instanceof IoError) throw io;
      // Damage bad enough that SQLite stops the check itself ("database disk image is malformed", a
      // replica missing a segment) is a failed check as well, not an internal error.
      throw new VerifyError(`${where}: restored database fails integrity_check: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const problems = rows.map((r) => r.integrity_check).filter((v) => v !== "ok");
    if (problems.length > 0) {
      throw new VerifyError(
        `${where}: restored database fails integrity_check: ${problems.slice(0, 3).join("; ")}` +
          (problems.length > 3 ? ` (+${problems.length - 3} more)` : ""),
      );
    }
  } finally {
    conn.close();
  }
}
