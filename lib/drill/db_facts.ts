/**
 * Per-table row counts of a database, and how a restored copy compares with the live source. The
 * live database is opened read-only; when no `-wal` file exists (no server has it open in WAL mode)
 * it is opened immutable, because a plain read-only open of a WAL database would create `-wal` and
 * `-shm` next to it and leave them there, and the drill must not add files to the live tree.
 */
import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { BusyError, NotFoundError } from "../errors.ts";
import { sqliteToVigoError } from "../sqlite/sqlite_errors.ts";

/** Rows per table, by table name. */
export type TableCounts = Record<string, number>;

/** A restored database against the live one, table by table. */
export interface CountComparison {
  /**
   * Every table of either side, by name: restored and live row counts (null where the table is absent).
   * A list rather than an object keyed by table name, so that no JSON dialect rewrites a name.
   */
  tables: { table: string; restored: number | null; live: number | null }[];
  /** Rows the live database has beyond the restored copy, summed over tables (never negative). */
  rows_missing: number;
  /** Tables whose counts differ. */
  differing: string[];
}

/** How long the drill waits for a live database another process holds locked (DrillContext.lockTimeoutMs). */
export const DEFAULT_LIVE_LOCK_TIMEOUT_MS = 30_000;

/** Counts the rows of every user table in one read transaction. */
function countTables(db: DatabaseSync): TableCounts {
  const out: TableCounts = {};
  db.exec("BEGIN");
  try {
    // `_litestream_*` tables are the replicator's bookkeeping (Litestream's convention), not data: they
    // exist only once replication ran, so an archive made earlier would look like it lacked tables.
    const names = db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' " +
        "AND name NOT LIKE '\\_litestream\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
    ).all() as { name: string }[];
    for (const { name } of names) {
      const q = `SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`;
      out[name] = Number((db.prepare(q).get() as { n: number }).n);
    }
  } finally {
    db.exec("COMMIT");
  }
  return out;
}

/** Opens `target` read-only and counts its tables; errors name `path` (a lock held too long: BusyError). */
function countAt(target: string | URL, path: string, timeout = DEFAULT_LIVE_LOCK_TIMEOUT_MS): TableCounts {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(target, { readOnly: true, timeout });
  } catch (err) {
    throw sqliteToVigoError(err, path);
  }
  try {
    return countTables(db);
  } catch (err) {
    throw sqliteToVigoError(err, path);
  } finally {
    db.close();
  }
}

/** Row counts of a scratch copy (any open mode will do: the drill owns the file). */
export function tableCounts(path: string): TableCounts {
  return countAt(path, path);
}

/**
 * The live database stayed locked by another process (a writer with `locking_mode=EXCLUSIVE`, a
 * transaction held open) for longer than the drill waits: no verdict on any backup, which must not be
 * reported as failed for it.
 */
export class LiveDatabaseLocked extends BusyError {}

/** Row counts of the live database, read without writing anything next to it. */
export function liveTableCounts(path: string, lockTimeoutMs = DEFAULT_LIVE_LOCK_TIMEOUT_MS): TableCounts {
  if (!existsSync(path)) throw new NotFoundError(`${path}: live database does not exist`);
  const url = pathToFileURL(path);
  if (!existsSync(`${path}-wal`)) url.search = "?immutable=1";
  try {
    return countAt(url, path, lockTimeoutMs);
  } catch (err) {
    if (!(err instanceof BusyError)) throw err;
    throw new LiveDatabaseLocked(
      `${path}: live database is locked by another process; gave up after ${lockTimeoutMs / 1000} s`,
      { cause: err },
    );
  }
}

/** Compares restored and live counts (pure). */
export function compareCounts(restored: TableCounts, live: TableCounts): CountComparison {
  const tables: CountComparison["tables"] = [];
  let rowsMissing = 0;
  const differing: string[] = [];
  for (const name of [...new Set([...Object.keys(restored), ...Object.keys(live)])].sort()) {
    const r = restored[name] ?? null;
    const l = live[name] ?? null;
    tables.push({ table: name, restored: r, live: l });
    if (r !== l) differing.push(name);
    rowsMissing += Math.max(0, (l ?? 0) - (r ?? 0));
  }
  return { tables, rows_missing: rowsMissing, differing };
}
