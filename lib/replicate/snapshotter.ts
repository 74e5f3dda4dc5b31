/**
 * Snapshots: a consistent copy of the database taken with SQLite's online backup (one step, all
 * pages: it finishes under a busy writer) into a temp file on the database's filesystem, then
 * streamed through LZ4 into the replica. Memory stays at one chunk plus one LZ4 block whatever the
 * database size (Litestream #613/#331 grew with it), and no lock is held while uploading.
 *
 * Order matters for consistency: {@link takeSnapshot} copies and uploads the WAL past the moment the
 * backup was taken before the snapshot becomes visible, so snapshot + WAL in the replica never mix two
 * points in time.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { backup, DatabaseSync } from "node:sqlite";
import { lz4CompressStream } from "../codec/lz4/lz4.ts";
import type { ReplicaClient } from "../litestream/replica_client.ts";
import { removeTemporary, removingFile } from "../fsutil/left_temp.ts";
import type { EventSink } from "./event_log.ts";
import { fileRangeStream } from "./file_stream.ts";
import type { WalSync } from "./wal_sync.ts";
import type { WalUploader } from "./wal_uploader.ts";

/** A local, consistent copy of the database waiting to be uploaded. */
export interface PreparedSnapshot {
  path: string;
  generation: string;
  /** The shadow index current when the copy was taken: restore replays the WAL from its start. */
  index: number;
  bytes: number;
}

/**
 * The WAL's catch-up after the copy started a new generation, so the copy pairs with nothing: the step
 * starts over (the loop at its next tick, a stop at once).
 */
export class GenerationChangedError extends Error {
  constructor() {
    super("generation changed while snapshotting; will start over");
  }
}

/** What {@link takeSnapshot} works with: the replicator's database, WAL sync and uploader. */
export interface SnapshotContext {
  client: ReplicaClient;
  dbPath: string;
  tmpDir: string;
  wal: WalSync;
  uploader: WalUploader;
  log: EventSink;
  /** True once a stop began: a periodic snapshot copied meanwhile is discarded. */
  stopping: () => boolean;
}

/**
 * Takes and uploads a snapshot at the WAL's current index. Unless the generation is new (`first`), the
 * WAL is first caught up and uploaded past the moment of the copy, so the replica never pairs the
 * snapshot with older WAL. Returns false when a stop discarded it.
 */
export async function takeSnapshot(ctx: SnapshotContext, first: boolean): Promise<boolean> {
  const { wal } = ctx;
  const st = wal.state!;
  const snap = await prepareSnapshot(ctx.dbPath, ctx.tmpDir, st.generation, st.index);
  if (!first && ctx.stopping()) {
    discardSnapshot(snap, ctx.log);
    return false;
  }
  const after = await wal.sync().catch(removingCopy(snap.path));
  if (after.newGeneration) {
    discardSnapshot(snap, ctx.log);
    throw new GenerationChangedError();
  }
  if (!first) {
    await ctx.uploader.upload(wal.state!).catch(removingCopy(snap.path));
  }
  await uploadSnapshot(ctx.client, snap, ctx.log);
  return true;
}

/** Copies the database to a temp file under `tmpDir`. */
export async function prepareSnapshot(
  dbPath: string,
  tmpDir: string,
  generation: string,
  index: number,
): Promise<PreparedSnapshot> {
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `snapshot-${randomBytes(6).toString("hex")}.db`);
  const src = new DatabaseSync(dbPath, { readOnly: true });
  try {
    src.exec("PRAGMA busy_timeout = 5000");
    await backup(src, path, { rate: -1 });
  } catch (err) {
    throw removingFile(err, "snapshot copy", path, NEXT_START, dbPath);
  } finally {
    src.close();
  }
  return { path, generation, index, bytes: (await stat(path)).size };
}

/** Uploads a prepared snapshot and deletes the temp file. */
export async function uploadSnapshot(
  client: ReplicaClient,
  snap: PreparedSnapshot,
  log: EventSink,
): Promise<void> {
  const started = performance.now();
  // A fresh stream per attempt: the backend's retry decorator can send the snapshot again.
  await client.writeSnapshot(
    snap.generation,
    snap.index,
    () => fileRangeStream(snap.path).pipeThrough(lz4CompressStream({ blockSizeIndex: 5 })),
  ).catch(removingCopy(snap.path));
  // Stored: a copy that stays behind is a warning, not a failed snapshot to take again.
  discardSnapshot(snap, log);
  log("INFO", "snapshot written", {
    generation: snap.generation,
    index: snap.index,
    size: snap.bytes,
    elapsed_ms: Math.round(performance.now() - started),
  });
}

/** Who removes a snapshot copy left behind: the replicator empties its temporary directory at start. */
const NEXT_START = "the replicator's next start";

/**
 * A catch handler: the failure of a step after the copy was made, thrown once the copy is removed, and
 * naming the copy when it cannot be.
 */
function removingCopy(path: string): (err: unknown) => never {
  return (err) => {
    throw removingFile(err, "snapshot copy", path, NEXT_START);
  };
}

/**
 * Deletes a prepared snapshot's temp file; one that cannot be removed (the size of the database, one more
 * each snapshot while the cause lasts) is logged, and replication goes on.
 */
export function discardSnapshot(snap: PreparedSnapshot, log: EventSink): void {
  const problem = removeTemporary(snap.path);
  if (problem !== undefined) {
    log("WARN", "snapshot copy left", { path: snap.path, problem, removed_by: NEXT_START });
  }
}
