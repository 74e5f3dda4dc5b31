/**
 * Waiting for a database another process has locked, bounded and interruptible. SQLite's own busy
 * handler sleeps inside a synchronous call, so while it waits no signal handler runs (Ctrl-C did
 * nothing for 74 s against a `locking_mode=EXCLUSIVE` holder). Here each attempt has no busy timeout
 * and the waiting happens between attempts, in the event loop, where SIGINT/SIGTERM are handled.
 */
import type { DatabaseSync } from "node:sqlite";
import { BusyError } from "../errors.ts";

/** Default for `--lock-timeout`. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

const RETRY_MS = 50;

function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; code?: string; message?: string };
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with or without extended bits.
  if (typeof e?.errcode === "number" && [5, 6].includes(e.errcode & 0xff)) return true;
  return /database is locked|database table is locked|busy/i.test(e?.message ?? "");
}

/**
 * Opens a read transaction on `db` (its busy timeout set to 0 here) that sees the whole database,
 * retrying while another process holds a lock that stops it, for at most `timeoutMs`; then
 * {@link BusyError} (exit 5) naming `path`. The caller ends the transaction.
 */
export async function beginReadWhenFree(db: DatabaseSync, path: string, timeoutMs: number): Promise<void> {
  // Deno ignores DatabaseSync's `timeout` option (5 s busy waits, uninterruptible): waits belong here.
  db.exec("PRAGMA busy_timeout = 0");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.exec("BEGIN");
      // The first read takes the shared lock (and, in WAL mode, a read mark) the transaction keeps.
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
      return;
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline) {
        // No "(see --lock-timeout)" as create's pin says: its one caller, a crate run's dump, has no such
        // option, and suggesting one ended in exit 2.
        throw new BusyError(
          `${path}: database is locked by another process; gave up after ${Math.round(timeoutMs / 1000)} s`,
          { cause: err },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
