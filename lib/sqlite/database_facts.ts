/**
 * Facts about a database file nobody else writes (an extracted, staged or restored copy): integrity,
 * page size and count, read through SQLite's immutable open. The live database is read elsewhere,
 * under a pin (lib/sqlite/pinned_database.ts).
 */
import { closeSync, openSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { IoError, toVigoError } from "../errors.ts";

/** Facts about a database file, as recorded in the manifest. */
export interface DatabaseFacts {
  pageSize: number;
  pageCount: number;
  /** "ok", or the first problem `PRAGMA integrity_check` reported. */
  integrity: string;
}

/**
 * Runs `PRAGMA integrity_check` and reads page size and count of a file nobody else writes (a
 * snapshot copy, a staged or extracted database). Opened read-only and immutable: the file is never
 * changed, no -wal/-shm is created, and a -wal lying next to it is ignored rather than checkpointed
 * into it, so the facts are those of exactly the bytes that were checksummed.
 */
export function inspectDatabase(path: string): DatabaseFacts {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(immutableUri(path), { readOnly: true });
  } catch (err) {
    throw toVigoError(err, path);
  }
  try {
    const pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
    const pageCount = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
    const rows = db.prepare("PRAGMA integrity_check(10)").all() as { integrity_check: string }[];
    return { pageSize, pageCount, integrity: rows.map((r) => r.integrity_check).join("; ") };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { pageSize: 0, pageCount: 0, integrity: msg };
  } finally {
    db.close();
  }
}

/**
 * The error when integrity_check could not run at all on `path` — SQLite could not open or read the
 * file (too many open files, an I/O error, no memory) — which says nothing of the database: exit 11
 * naming the file, not a failed check (exit 8), which would have an operator throw a good archive away.
 * Null when the check ran.
 */
export function checkNotRunError(facts: DatabaseFacts, path: string): IoError | null {
  const m = /unable to open database file|disk I\/O error|out of memory/i.exec(facts.integrity);
  if (!m) return null;
  return new IoError(
    `${path}: integrity_check could not run: ${outOfDescriptors() ? "too many open files" : m[0]}`,
    {
      path,
    },
  );
}

/** Whether this process has no file descriptor left (SQLite says only "unable to open database file"). */
function outOfDescriptors(): boolean {
  try {
    closeSync(openSync("/dev/null", "r"));
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EMFILE" || code === "ENFILE";
  }
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
