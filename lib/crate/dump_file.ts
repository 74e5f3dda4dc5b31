/**
 * Writes a gzip-compressed deterministic dump of a live SQLite database. The whole dump is read inside
 * one read transaction, so it is a consistent view even while the server writes (in WAL mode writers
 * carry on; in rollback-journal mode they wait for the dump).
 *
 * The SQL is compressed in ~1 MiB pieces, each its own gzip member (RFC 1952 allows concatenated
 * members; zcat, gunzip and node:zlib read them as one stream). One-shot `gzipSync` per piece measured
 * 1.7x faster than the async zlib API (which round-trips per 16 KiB) under Deno. Members carry no file
 * name and a zero mtime, and piece boundaries depend only on the data, so equal data gives equal bytes.
 */
import { DatabaseSync } from "node:sqlite";
import { gzipSync } from "node:zlib";
import { existsSync } from "node:fs";
import { BadInputError, NotFoundError, toVigoError, VigoError } from "../errors.ts";
import { createAtomicFile } from "../fsutil/atomic_file.ts";
import { type DumpCounts, dumpSql } from "./sql_dump.ts";

/** gzip level of dumps: fixed, because the level is part of what makes the bytes reproducible. */
export const DUMP_GZIP_LEVEL = 2;

/** What a dump wrote. */
export interface DumpResult extends DumpCounts {
  /** Compressed size. */
  bytes: number;
}

/** Dumps `dbPath` to `outPath` (gzip), atomically. */
export async function writeGzipDump(dbPath: string, outPath: string): Promise<DumpResult> {
  if (!existsSync(dbPath)) throw new NotFoundError(`${dbPath}: source_db does not exist`);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(dbPath, { readOnly: true, timeout: 30_000 });
  } catch (err) {
    throw new BadInputError(`${dbPath}: cannot open as SQLite: ${(err as Error).message}`, { cause: err });
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
  try {
    db.exec("BEGIN");
    for (const piece of sqlPieces(db, dbPath, counts)) {
      await write(gzipSync(piece, { level: DUMP_GZIP_LEVEL }));
    }
    db.exec("COMMIT");
    await file.commit();
  } catch (err) {
    await file.abort();
    throw toVigoError(err, outPath);
  } finally {
    db.close();
  }
  return { ...counts, bytes };
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
