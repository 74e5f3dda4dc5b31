/**
 * Consistent online copy of a live SQLite database with the built-in `node:sqlite` engine. It uses the
 * native file locks and WAL shared memory, so it takes part in the live server's locking protocol; a
 * WASM SQLite build has neither and could copy a torn database, so it is never used here. The copy is
 * ONE backup step (`rate: -1`: all pages inside one read transaction): a multi-step backup restarts
 * whenever another connection writes and never finishes under a busy writer.
 */
import { backup, DatabaseSync } from "node:sqlite";
import { ConfigError, NotFoundError, toVigoError } from "../errors.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { beginReadWhenFree, DEFAULT_LOCK_TIMEOUT_MS } from "./read_lock.ts";
import { sqliteToVigoError } from "./sqlite_errors.ts";

/** Facts about a database file, as recorded in the manifest. */
export interface DatabaseFacts {
  pageSize: number;
  pageCount: number;
  /** "ok", or the first problem `PRAGMA integrity_check` reported. */
  integrity: string;
}

/**
 * Copies the live database at `livePath` to `destPath` (which must not exist) in one step, inside a
 * read transaction taken first: waiting for another process's lock is bounded by `lockTimeoutMs`
 * (then BusyError, exit 5) and interruptible (lib/sqlite/read_lock.ts).
 */
export async function snapshotDatabase(
  livePath: string,
  destPath: string,
  lockTimeoutMs: number = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<void> {
  try {
    requireRegularFile(livePath, "database.path", (m) => new ConfigError(m));
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`${livePath}: database does not exist`);
    throw err;
  }
  let src: DatabaseSync;
  try {
    src = new DatabaseSync(livePath, { readOnly: true, timeout: 0 });
  } catch (err) {
    throw sqliteToVigoError(err, livePath);
  }
  try {
    await beginReadWhenFree(src, livePath, lockTimeoutMs);
    await backup(src, destPath, { rate: -1 });
  } catch (err) {
    throw sqliteToVigoError(err, livePath, destPath);
  } finally {
    if (src.isTransaction) src.exec("ROLLBACK");
    src.close();
  }
}

/**
 * Runs `PRAGMA integrity_check` and reads page size and count of a file nobody else writes (a
 * snapshot copy, a staged or extracted database). Opened read-only and immutable: the file is never
 * changed, no -wal/-shm is created, and a -wal lying next to it is ignored rather than checkpointed
 * into it, so the facts are those of exactly the bytes that were checksummed.
 */
export function inspectDatabase(path: string): DatabaseFacts {
  const db = openImmutable(path);
  try {
    const shape = readShape(db);
    const rows = db.prepare("PRAGMA integrity_check(10)").all() as { integrity_check: string }[];
    const integrity = rows.map((r) => r.integrity_check).join("; ");
    return { ...shape, integrity };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { pageSize: 0, pageCount: 0, integrity: msg };
  } finally {
    db.close();
  }
}

/**
 * Page size and count of a file nobody else writes, without checking it: milliseconds, where
 * {@link inspectDatabase} reads every page.
 */
export function databaseShape(path: string): Pick<DatabaseFacts, "pageSize" | "pageCount"> {
  const db = openImmutable(path);
  try {
    return readShape(db);
  } catch (err) {
    throw sqliteToVigoError(err, path);
  } finally {
    db.close();
  }
}

function openImmutable(path: string): DatabaseSync {
  try {
    return new DatabaseSync(immutableUri(path), { readOnly: true });
  } catch (err) {
    throw toVigoError(err, path);
  }
}

function readShape(db: DatabaseSync): Pick<DatabaseFacts, "pageSize" | "pageCount"> {
  const pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
  const pageCount = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
  return { pageSize, pageCount };
}

/** An SQLite URI opening `path` read-only as an immutable file (no locks, no WAL, no -shm). */
export function immutableUri(path: string): string {
  return `file:${path.split("/").map(encodeURIComponent).join("/")}?mode=ro&immutable=1`;
}

/** A one-line digest of `PRAGMA integrity_check` output (which is one problem per line). */
export function summarizeIntegrity(integrity: string): string {
  const problems = integrity.split(/\n|; /).map((l) => l.trim()).filter((l) => l && !/^\*\*\*/.test(l));
  const first = problems.slice(0, 2).join("; ");
  return problems.length > 2 ? `${first}; …` : first;
}
