/**
 * Consistent online copy of a live SQLite database with the built-in `node:sqlite` engine. It uses the
 * native file locks and WAL shared memory, so it takes part in the live server's locking protocol; a
 * WASM SQLite build has neither and could copy a torn database, so it is never used here. The copy is
 * ONE backup step (`rate: -1`: all pages inside one read transaction): a multi-step backup restarts
 * whenever another connection writes and never finishes under a busy writer.
 */
import { backup, DatabaseSync } from "node:sqlite";
import { rmSync } from "node:fs";
import { BadInputError, IoError, NotFoundError, toVigoError } from "../errors.ts";
import { existsSync } from "node:fs";

/** Facts about a database file, as recorded in the manifest. */
export interface DatabaseFacts {
  pageSize: number;
  pageCount: number;
  /** "ok", or the first problem `PRAGMA integrity_check` reported. */
  integrity: string;
}

/** How long the copy waits for a lock held by a writer (e.g. during a checkpoint). */
const BUSY_TIMEOUT_MS = 30_000;

/** Copies the live database at `livePath` to `destPath` (which must not exist) in one step. */
export async function snapshotDatabase(livePath: string, destPath: string): Promise<void> {
  if (!existsSync(livePath)) throw new NotFoundError(`${livePath}: database does not exist`);
  let src: DatabaseSync;
  try {
    src = new DatabaseSync(livePath, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw toVigoError(err, livePath);
  }
  try {
    await backup(src, destPath, { rate: -1 });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/not a database|malformed/i.test(msg)) throw new BadInputError(`${livePath}: ${msg}`);
    throw copyFailure(err, msg, livePath, destPath);
  } finally {
    src.close();
  }
}

/**
 * SQLite's messages (node:sqlite gives no result code for a backup) that mean the copy's destination,
 * not the source, failed.
 */
const DEST_FAILURES: [RegExp, string][] = [
  [/disk is full/i, "no space left on device"],
  [/readonly database/i, "read-only file system or file"],
  [/disk I\/O error/i, "disk I/O error"],
  [/unable to open database file/i, "cannot create the file"],
];

/** An OS failure writing the copy (disk full, read-only) is exit 11 naming the copy, not a bug. */
function copyFailure(err: unknown, msg: string, livePath: string, destPath: string) {
  const what = DEST_FAILURES.find(([re]) => re.test(msg))?.[1];
  if (what) return new IoError(`${destPath}: ${what} while copying ${livePath}`, { cause: err });
  return toVigoError(err, livePath);
}

/** Runs `PRAGMA integrity_check` and reads page size and count. Leaves no -wal/-shm files behind. */
export function inspectDatabase(path: string): DatabaseFacts {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw toVigoError(err, path);
  }
  try {
    const pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
    const pageCount = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
    const rows = db.prepare("PRAGMA integrity_check(10)").all() as { integrity_check: string }[];
    const integrity = rows.map((r) => r.integrity_check).join("; ");
    return { pageSize, pageCount, integrity };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { pageSize: 0, pageCount: 0, integrity: msg };
  } finally {
    db.close();
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
}

/** A one-line digest of `PRAGMA integrity_check` output (which is one problem per line). */
export function summarizeIntegrity(integrity: string): string {
  const problems = integrity.split(/\n|; /).map((l) => l.trim()).filter((l) => l && !/^\*\*\*/.test(l));
  const first = problems.slice(0, 2).join("; ");
  return problems.length > 2 ? `${first}; …` : first;
}
