/**
 * Is a database in use by another process? SQLite has no API for that, but its locks answer it: a
 * connection that asks for exclusive locking mode and an EXCLUSIVE transaction, with no busy timeout,
 * fails at once while any other connection (reader or writer, WAL or rollback journal) holds the
 * file's shared lock. The probe reads nothing and writes nothing itself, but its close, as any last
 * connection's, checkpoints a `-wal` a dead process left into the database file (node:sqlite offers no
 * SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): the same rows, other bytes.
 */
import { DatabaseSync } from "node:sqlite";
import { existsSync } from "node:fs";

/** True when another connection (in another process) holds a lock on the database at `path`. */
export function databaseInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: 0 });
  } catch {
    return false;
  }
  try {
    db.exec("PRAGMA busy_timeout=0; PRAGMA locking_mode=EXCLUSIVE;");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    db.exec("ROLLBACK");
    return false;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return /locked|busy/i.test(msg);
  } finally {
    db.close();
  }
}
