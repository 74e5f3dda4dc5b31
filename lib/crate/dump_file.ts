/**
 * Writes a gzip-compressed deterministic dump of a live SQLite database. In WAL mode the whole dump is
 * read inside one read transaction of the live file: a consistent view, and the server's writers carry
 * on. In rollback-journal mode a long read transaction would block writers for the whole dump, so the
 * database is first copied with the online backup API in one step (`rate: -1`, which holds the read
 * lock only for the copy) next to the output, and the copy is dumped and deleted.
 *
 * The SQL is compressed in ~1 MiB pieces, each its own gzip member (RFC 1952 allows concatenated
 * members; zcat, gunzip and node:zlib read them as one stream). Under Bun, for databases above
 * 16 MiB, the pieces are compressed on a worker thread while the next one is formatted
 * (lib/codec/gzip/gzip_pieces.ts); otherwise on this thread. One-shot `gzipSync` per piece measured 1.7x faster than
 * the async zlib API (which round-trips per 16 KiB) under Deno. Members carry no file name and a zero
 * mtime, and piece boundaries depend only on the data, so equal data gives equal bytes either way.
 */
import { backup, DatabaseSync } from "node:sqlite";
import { statSync } from "node:fs";
import { BadInputError, ConfigError, IoError, NotFoundError, toVigoError, VigoError } from "../errors.ts";
import { NEXT_RUN_SWEEP, removeTemporary, removingFile } from "../fsutil/left_temp.ts";
import { createAtomicFile, tempPathFor } from "../fsutil/atomic_file.ts";
import { type DumpCounts, dumpSql } from "./sql_dump.ts";
import { type GzipPieces, inlineGzip, workerGzip } from "../codec/gzip/gzip_pieces.ts";
import { runtimeName } from "../runtime.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { beginReadWhenFree, DEFAULT_LOCK_TIMEOUT_MS } from "../sqlite/read_lock.ts";
import { isStorageFailure, sqliteToVigoError } from "../sqlite/sqlite_errors.ts";

/** gzip level of dumps: fixed, because the level is part of what makes the bytes reproducible. */
export const DUMP_GZIP_LEVEL = 2;
/** Databases larger than this are compressed on a worker thread. */
const WORKER_THRESHOLD = 16 << 20;
/** Pieces being compressed while the next one is formatted. */
const IN_FLIGHT = 3;

/** What a dump wrote. */
export interface DumpResult extends DumpCounts {
  /** Compressed size. */
  bytes: number;
}

/** Dumps `dbPath` to `outPath` (gzip), atomically. */
export async function writeGzipDump(dbPath: string, outPath: string): Promise<DumpResult> {
  try {
    requireRegularFile(dbPath, "source_db", (m) => new ConfigError(m));
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`${dbPath}: source_db does not exist`);
    throw err;
  }
  const copyPath = `${tempPathFor(outPath)}.db`;
  let db: DatabaseSync;
  try {
    db = await openConsistent(dbPath, copyPath);
  } catch (err) {
    // A full disk or a failed write while copying is the copy's (in the snapshot being built), not the
    // source's: "cannot open as SQLite: database or disk is full" blamed the healthy source (exit 4).
    throw removingCopy(
      err instanceof VigoError
        ? err
        : isStorageFailure(err)
        ? sqliteToVigoError(err, dbPath, copyPath)
        : new BadInputError(`${dbPath}: cannot open as SQLite: ${(err as Error).message}`, { cause: err }),
      copyPath,
    );
  }
  const counts: DumpCounts = { tables: 0, rows: 0 };
  let bytes = 0;
  let file;
  try {
    file = await createAtomicFile(outPath, 0o600);
  } catch (err) {
    db.close();
    throw err;
  }
  const write = async (member: Uint8Array) => {
    let off = 0;
    while (off < member.byteLength) off += (await file.handle.write(member, off)).bytesWritten;
    bytes += member.byteLength;
  };
  // measured on a 160 MB DB (with a node:worker_threads worker, since replaced by the archive writer's
  // web Worker): the worker takes Bun from 6.3 s to 4.3 s, but Deno's worker_threads compressed ~9x
  // slower than its main thread, so Deno stays inline
  const gzip: GzipPieces = runtimeName() === "bun" && statSync(dbPath).size > WORKER_THRESHOLD
    ? workerGzip(DUMP_GZIP_LEVEL)
    : inlineGzip(DUMP_GZIP_LEVEL);
  const pending: Promise<Uint8Array>[] = [];
  let failure: unknown;
  try {
    // The live WAL database arrives inside the read transaction openConsistent waited for.
    if (!db.isTransaction) db.exec("BEGIN");
    for (const piece of sqlPieces(db, dbPath, counts)) {
      const member = gzip.compress(piece);
      // handled here, awaited in order below: a failure must not surface as an unhandled rejection
      member.catch(() => {});
      pending.push(member);
      if (pending.length >= IN_FLIGHT) await write(await pending.shift()!);
    }
    while (pending.length > 0) await write(await pending.shift()!);
    db.exec("COMMIT");
    await file.commit();
  } catch (err) {
    await Promise.allSettled(pending);
    failure = await file.abortKeeping(toVigoError(err, outPath));
  } finally {
    await gzip.close();
    db.close();
  }
  if (failure !== undefined) throw removingCopy(toVigoError(failure, outPath), copyPath);
  // The dump is in place, but the copy beside it would go into the snapshot being built.
  const problem = removeTemporary(copyPath);
  if (problem !== undefined) throw new IoError(`${copyPath}: ${problem}`, { path: copyPath });
  return { ...counts, bytes };
}

/**
 * `failure`, the private copy of the database at `copyPath` removed: still the error when the copy
 * cannot be removed, and then also saying it is left (its name carries this run's PID).
 */
function removingCopy(failure: VigoError, copyPath: string): VigoError {
  return removingFile(failure, "copy of the database", copyPath, NEXT_RUN_SWEEP);
}

/**
 * The live database in WAL mode (inside an open read transaction), else a private copy of it taken
 * with the backup API. Waiting for another process's lock is bounded and interruptible (read_lock.ts).
 */
async function openConsistent(dbPath: string, copyPath: string): Promise<DatabaseSync> {
  const live = new DatabaseSync(dbPath, { readOnly: true, timeout: 0 });
  try {
    await beginReadWhenFree(live, dbPath, DEFAULT_LOCK_TIMEOUT_MS);
  } catch (err) {
    live.close();
    throw err;
  }
  const mode = (live.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  if (mode.toLowerCase() === "wal") return live;
  try {
    await backup(live, copyPath, { rate: -1 });
  } finally {
    live.exec("ROLLBACK");
    live.close();
  }
  return new DatabaseSync(copyPath, { readOnly: true });
}

/** The dump's pieces; SQLite errors while reading become BadInputError naming the database. */
function* sqlPieces(db: DatabaseSync, dbPath: string, counts: DumpCounts): Generator<Uint8Array> {
  try {
    yield* dumpSql(db, counts);
  } catch (err) {
    if (err instanceof VigoError) throw err;
    throw new BadInputError(`${dbPath}: ${(err as Error).message}`, { cause: err });
  }
}
