/**
 * The WAL half of a replica restore: every WAL index's segments streamed into `<db>-wal`, joined into
 * one WAL (wal_join.ts) while offsets and every frame are verified, then checkpointed by SQLite, which
 * must report exactly the committed frames counted; last, the restored file's fsync with
 * integrity_check alongside.
 */
import { closeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { BadInputError, VerifyError } from "../errors.ts";
import { asBackend } from "../backend/backend.ts";
import { FileBackend } from "../backend/file/file_backend.ts";
import { hex8, walSegmentKey } from "./paths.ts";
import type { ReplicaClient, WalSegmentInfo } from "./replica_client.ts";
import { decodeToSink, localObject, openForWrite } from "./replica_objects.ts";
import { SegmentPrefetcher } from "./segment_prefetch.ts";
import { startFsync } from "./restore_output.ts";
import { type RestorePlan, segmentsByIndex } from "./restore_plan.ts";
import { WalFormatError, WalVerifier } from "./wal_verifier.ts";
import { WalJoin } from "./wal_join.ts";
import type { ProgressPhase } from "../progress.ts";

/**
 * By default a joined WAL is checkpointed before the next index is added once it holds this many bytes:
 * the temp space a restore needs beyond the database, and the WAL index SQLite maps into memory (8
 * bytes per frame), stay bounded however much WAL the replica holds since its snapshot.
 */
export const WAL_BATCH_BYTES = 256 * 1024 * 1024;

/**
 * Streams the segments of every WAL index into `<db>-wal`, joined (wal_join.ts) and verifying offsets
 * and every frame, and checkpoints them into `db` (applyWal): in one go unless the WAL grows past
 * `limit` bytes; integrity_check (when `check`) follows the last. Returns the frames applied.
 */
export async function replayWal(
  client: ReplicaClient,
  plan: RestorePlan,
  db: string,
  limit: number,
  check: boolean,
  log: (l: string) => void,
  progress: ProgressPhase,
): Promise<number> {
  const walPath = `${db}-wal`;
  const groups = segmentsByIndex(plan.segments);
  if (groups.length === 0) {
    progress.end();
    return await applyWal(db, 0, true, check, client.backend.url, `generation ${plan.generation}`);
  }
  // A file replica is read directly (localObject); prefetching only hides a remote store's latency.
  const local = asBackend(client.backend, FileBackend) !== undefined;
  const prefetch = new SegmentPrefetcher(client, local ? [] : plan.segments);
  let frames = 0;
  try {
    let next = 0;
    do {
      const first = next;
      const fd = openForWrite(walPath, "w");
      const join = new WalJoin(fd, walPath);
      try {
        for (; next < groups.length && (join.indexes === 0 || join.bytes < limit); next++) {
          const group = groups[next];
          const before = join.committedFrames;
          await joinIndex(client, prefetch, plan.generation, group, join, progress);
          log(
            `fetched WAL index ${hex8(group[0].index)}: ${group.length} segment(s), ` +
              `${join.committedFrames - before} committed frame(s)`,
          );
        }
      } finally {
        closeSync(fd);
      }
      const final = next === groups.length;
      if (final) progress.end();
      const [a, b] = [hex8(groups[first][0].index), hex8(groups[next - 1][0].index)];
      const wal = `generation ${plan.generation} WAL index ${a === b ? a : `${a}–${b}`}`;
      frames += await applyWal(db, join.committedFrames, final, check, client.backend.url, wal);
    } while (next < groups.length);
  } finally {
    await prefetch.close();
  }
  return frames;
}

/** Streams one WAL index's segments into `join`, verifying offsets and every frame. */
async function joinIndex(
  client: ReplicaClient,
  prefetch: SegmentPrefetcher,
  generation: string,
  group: WalSegmentInfo[],
  join: WalJoin,
  progress: ProgressPhase,
): Promise<void> {
  const where = client.backend.url;
  const verifier = new WalVerifier(join);
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
  join.endIndex();
}

/**
 * Checkpoints `<db>-wal` into `db`, checking SQLite applied exactly the `expected` committed frames;
 * both files beside `db` are gone when this returns. After the `final` WAL, `db` is fsynced while
 * integrity_check (when `check`) reads it. `where` (the replica) and `wal` (its indexes joined here)
 * name them in errors. Returns the frames applied.
 */
async function applyWal(
  db: string,
  expected: number,
  final: boolean,
  check: boolean,
  where: string,
  wal: string,
): Promise<number> {
  let row = { busy: 0, log: 0, checkpointed: 0 };
  try {
    if (expected > 0) {
      const conn = new DatabaseSync(db);
      try {
        // No fsync inside the checkpoint: it would wait for the whole snapshot's writeback. The temp file
        // gets its own fsync, which overlaps integrity_check, before it is linked into place.
        conn.exec("PRAGMA synchronous=OFF");
        // FULL, not TRUNCATE: TRUNCATE resets the WAL before reporting, so it always answers (0, 0, 0).
        row = conn.prepare("PRAGMA wal_checkpoint(FULL)").get() as typeof row;
      } finally {
        conn.close();
      }
    }
  } finally {
    // Closing the last connection removes both (segments without a commit leave a WAL SQLite would
    // ignore); make sure, so nothing stale is replayed, linked or left.
    await rm(`${db}-wal`, { force: true });
    await rm(`${db}-shm`, { force: true });
  }
  if (row.busy !== 0 || row.log !== expected || row.checkpointed !== row.log) {
    throw new VerifyError(
      `${where}: ${wal}: SQLite checkpointed ${row.checkpointed} of ${row.log} WAL ` +
        `frame(s) (busy=${row.busy}) but the replica holds ${expected} committed frame(s)`,
    );
  }
  if (final) {
    const durable = await startFsync(db);
    try {
      if (check) integrityCheck(db, where);
    } finally {
      await durable.done;
    }
  }
  return row.checkpointed;
}

function integrityCheck(db: string, where: string): void {
  const conn = new DatabaseSync(db);
  try {
    const rows = conn.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
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
