/**
 * Restores a database from a Litestream v0.3 replica (ours or Litestream's): plan (restore_plan.ts),
 * stream the snapshot into a temp file next to the output, then stream the segments of every WAL
 * index into one `<temp>-wal` (wal_join.ts) — checking offsets, salts and the checksum chain of every
 * frame on the way — and let SQLite checkpoint them in with one checkpoint, verifying it applied
 * exactly the committed frames we counted. Finally integrity_check and fsync (overlapping), and link
 * into place, which fails rather than overwrite OUT.
 * Memory stays at one LZ4 block, one WAL frame and the joined WAL's 1 MiB buffer whatever the
 * database size: blocks are decoded into reused memory and written synchronously before the next is
 * decoded (lz4FrameDecoder).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BadInputError, ExistsError, toVigoError, VerifyError } from "../errors.ts";
import { asBackend } from "../backend/backend.ts";
import { FileBackend } from "../backend/file/file_backend.ts";
import { CodecError } from "../codec/codec_error.ts";
import { type Lz4BlockSink, lz4FrameDecoder } from "../codec/lz4/lz4_frame_reader.ts";
import { hex8, snapshotKey, walSegmentKey } from "./paths.ts";
import type { ReplicaClient, WalSegmentInfo } from "./replica_client.ts";
import { readListings } from "./replica_list.ts";
import { SegmentPrefetcher } from "./segment_prefetch.ts";
import { linkIntoPlace, startFsync } from "./restore_output.ts";
import { planRestore, type RestorePlan, segmentsByIndex } from "./restore_plan.ts";
import { WalFormatError, WalVerifier } from "./wal_verifier.ts";
import { WalJoin } from "./wal_join.ts";
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

/** Bytes read per call from a local replica: large reads, few I/O round trips. */
const LOCAL_READ = 1 << 20;

/**
 * The object `key` of a file replica as chunks read into two reused buffers, or null for other
 * backends. Each chunk is overwritten once the consumer asks for the one after next, so this is for
 * {@link decodeToSink} only (its decoder copies what it keeps). The next read is in flight while a
 * chunk is decoded. The file backend's own reader allocates a fresh buffer per read, which Bun
 * collects late: with it the restore's peak RSS grew with the snapshot size.
 */
function localObject(client: ReplicaClient, key: string): AsyncIterable<Uint8Array> | null {
  const replica = asBackend(client.backend, FileBackend);
  if (!replica) return null;
  const path = join(replica.root, ...key.split("/"));
  return (async function* () {
    const file = await open(path, "r").catch((err) => {
      throw toVigoError(err, path);
    });
    const bufs = [new Uint8Array(LOCAL_READ), new Uint8Array(LOCAL_READ)];
    let pos = 0;
    const read = (i: number) =>
      file.read(bufs[i], 0, LOCAL_READ, pos).then(({ bytesRead }) => {
        pos += bytesRead;
        return bufs[i].subarray(0, bytesRead);
      });
    let pending = read(0);
    try {
      for (let i = 0;; i ^= 1) {
        const chunk = await pending.catch((err) => {
          throw toVigoError(err, path);
        });
        if (chunk.length === 0) return;
        // The other buffer's chunk, yielded last time, is done with now that we were resumed.
        pending = read(i ^ 1);
        yield chunk;
      }
    } finally {
      await pending.catch(() => {});
      await file.close();
    }
  })();
}

/** Opens `path` for the synchronous writes of {@link decodeToFile}. */
function openForWrite(path: string, flags: "wx" | "w"): number {
  try {
    return openSync(path, flags, 0o600);
  } catch (err) {
    throw toVigoError(err, path);
  }
}

/**
 * Decodes the LZ4 frames of `stream` block by block into `sink`. Each block is a view of the
 * decoder's reused memory, valid only until `sink` returns.
 */
async function decodeToSink(
  stream: AsyncIterable<Uint8Array>,
  name: string,
  progress: ProgressPhase,
  sink: Lz4BlockSink,
): Promise<void> {
  const dec = lz4FrameDecoder(name);
  const transient = !(stream instanceof ReadableStream);
  try {
    for await (const chunk of stream) {
      progress.advance(chunk.length);
      dec.push(chunk, sink, transient);
    }
    dec.end();
  } catch (err) {
    if (err instanceof CodecError) throw toVigoError(err);
    throw err;
  }
}

/**
 * Decodes the LZ4 frames of `stream` into the open file `fd`, returning the bytes written. Each block
 * is checked (`onBlock`) and written synchronously — to the page cache, no I/O-pool round trip —
 * before the next block overwrites it.
 */
async function decodeToFile(
  stream: AsyncIterable<Uint8Array>,
  name: string,
  fd: number,
  path: string,
  progress: ProgressPhase,
  onBlock?: Lz4BlockSink,
): Promise<number> {
  let n = 0;
  await decodeToSink(stream, name, progress, (block) => {
    onBlock?.(block);
    try {
      for (let off = 0; off < block.length;) off += writeSync(fd, block, off, block.length - off);
    } catch (err) {
      throw toVigoError(err, path);
    }
    n += block.length;
  });
  return n;
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

/**
 * By default a joined WAL is checkpointed before the next index is added once it holds this many bytes:
 * the temp space a restore needs beyond the database, and the WAL index SQLite maps into memory (8
 * bytes per frame), stay bounded however much WAL the replica holds since its snapshot.
 */
const WAL_BATCH_BYTES = 256 * 1024 * 1024;

/**
 * Streams the segments of every WAL index into `<db>-wal`, joined (wal_join.ts) and verifying offsets
 * and every frame, and checkpoints them into `db` (applyWal): in one go unless the WAL grows past
 * `limit` bytes; integrity_check (when `check`) follows the last. Returns the frames applied.
 */
async function replayWal(
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
