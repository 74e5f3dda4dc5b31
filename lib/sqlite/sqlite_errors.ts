/**
 * SQLite's errors, as `node:sqlite` reports them, mapped to our exit codes with the file named. Deno
 * gives only the message (no `errcode`), Bun gives both, so the message decides. Without this mapping
 * a full disk, a permission problem or a hot journal surfaced as exit 1, "a bug".
 */
import { accessSync, constants } from "node:fs";
import { BadInputError, BusyError, IoError, toVigoError, VigoError } from "../errors.ts";

/** Whether SQLite's `err` is its storage failing (a full disk, an I/O error), not the database it read. */
export function isStorageFailure(err: unknown): boolean {
  return /database or disk is full|disk I\/O error/i.test((err as Error)?.message ?? "");
}

/** Maps an error from opening or reading the database at `path` (writing to `dest`, if given). */
export function sqliteToVigoError(err: unknown, path: string, dest?: string): VigoError {
  if (err instanceof VigoError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const failed = dest ?? path;
  if (/database or disk is full/i.test(msg)) {
    return new IoError(`${failed}: no space left on device`, { cause: err, path: failed });
  }
  if (/disk I\/O error/i.test(msg)) {
    return new IoError(`${failed}: input/output error`, { cause: err, path: failed });
  }
  if (/not a database|malformed/i.test(msg)) return new BadInputError(`${path}: ${msg}`, { cause: err });
  if (/locked|busy/i.test(msg)) {
    return new BusyError(`${path}: database is locked by another process`, { cause: err });
  }
  if (/readonly database/i.test(msg)) {
    // A read-only connection meets a hot rollback journal: a writer crashed mid-transaction and only a
    // writer may roll it back; copying now would copy half a transaction.
    return new BadInputError(
      `${path}: has a hot rollback journal (a writer crashed); let the server or sqlite3 open it once to recover`,
      { cause: err },
    );
  }
  if (/unable to open database file/i.test(msg)) {
    try {
      accessSync(path, constants.R_OK);
    } catch (accessErr) {
      return toVigoError(accessErr, path);
    }
    return new IoError(`${path}: cannot open the database (${msg.split(":")[0]})`, { cause: err, path });
  }
  return toVigoError(err, path);
}
