/**
 * The replicator's two SQLite connections to the live database (node:sqlite: real file locks and
 * the shared-memory WAL index, the same as the application's).
 *
 * - `reader` holds a long-running read transaction (the "pin"). While a reader uses the WAL, SQLite
 *   cannot restart it, so no frame can be overwritten before we copied it. A pin taken when the WAL was
 *   fully checkpointed holds read mark 0 instead: the next commit may restart the WAL, but no checkpoint
 *   can copy the new WAL back while we read the database file, so it cannot restart a second time.
 * - `writer` takes the write lock briefly: to probe whether someone is waiting on us, to seal the WAL
 *   (nothing can be appended while we copy its end) and to reset it after our PASSIVE checkpoint.
 *
 * Both use Litestream's two tables (`_litestream_seq`, `_litestream_lock`) so a database moved between
 * the two tools needs no migration.
 */
import { DatabaseSync } from "node:sqlite";
import { statSync } from "node:fs";
import { sqliteToVigoError } from "../sqlite/sqlite_errors.ts";
import { BusyError, NotFoundError, toVigoError, VigoError } from "../errors.ts";

/** Outcome of a PASSIVE checkpoint. */
export interface CheckpointResult {
  /** False when another checkpoint was running (SQLite reported busy). */
  ran: boolean;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied into the database so far. */
  checkpointed: number;
}

/** Identity of the database file, to notice it being replaced under us. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** Both connections' busy_timeout until a lock probe sets the writer's own. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * `err` from opening the database at `path`, named: a file that is no database was exit 1 ("a bug")
 * with SQLite's bare "file is not a database". A busy database stays SQLite's, which the step retries.
 */
function named(err: unknown, path: string): unknown {
  return isBusy(err) ? err : sqliteToVigoError(err, path);
}

/** The database's identity; a library caller's missing database is named as the CLI names it (exit 9). */
function statFile(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NotFoundError(`${path}: database not found`, { cause: err });
    }
    throw toVigoError(err, path);
  }
}

/** A connection to the database at `path`, its failure {@link named}. */
function opened(path: string): DatabaseSync {
  try {
    return new DatabaseSync(path);
  } catch (err) {
    throw named(err, path);
  }
}

/**
 * `err` that stopped the replicator's first step, for its caller: a database still locked after the
 * busy timeout (a writer holding `PRAGMA locking_mode=EXCLUSIVE`, or a very long transaction) is exit 5
 * naming the file, not SQLite's bare "database is locked" as exit 1, "a bug". Others pass unchanged.
 */
export function startFailure(err: unknown, path: string): unknown {
  if (!isBusy(err) || err instanceof VigoError) return err;
  return new BusyError(
    `${path}: database is locked by another process; gave up after ${BUSY_TIMEOUT_MS / 1000} s`,
    { cause: err },
  );
}

function isBusy(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /database is locked|busy/i.test(msg);
}

/**
 * Connections to a database file that was replaced under us. They are never closed: closing the last
 * connection makes SQLite checkpoint and then delete `<path>-wal` *by name*, which now belongs to the
 * new database. Parking them costs two file descriptors until the process exits.
 */
const abandoned: DatabaseSync[] = [];

/** The pair of connections. */
export class DbConnections {
  readonly path: string;
  readonly identity: FileIdentity;
  readonly pageSize: number;
  private readonly reader: DatabaseSync;
  private readonly writer: DatabaseSync;
  private pinned = false;
  private writing = false;
  /** The writer connection's busy_timeout in ms. */
  private writerTimeout = BUSY_TIMEOUT_MS;

  constructor(path: string) {
    this.path = path;
    const st = statFile(path);
    this.identity = { dev: st.dev, ino: st.ino };
    this.reader = opened(path);
    try {
      this.writer = opened(path);
    } catch (err) {
      this.reader.close();
      throw err;
    }
    try {
      for (const db of [this.reader, this.writer]) {
        db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
        // Our connections never checkpoint behind our back; the replicator decides when.
        db.exec("PRAGMA wal_autocheckpoint = 0");
      }
      const mode = this.writer.prepare("PRAGMA journal_mode = wal").get() as { journal_mode: string };
      if (mode.journal_mode !== "wal") {
        throw new Error(`cannot switch ${path} to WAL mode (got ${mode.journal_mode})`);
      }
      this.pageSize = (this.reader.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
    } catch (err) {
      this.reader.close();
      this.writer.close();
      throw named(err, path);
    }
  }

  /** True when the file at our path is no longer the one we opened (or is gone). */
  replaced(): boolean {
    try {
      const st = statSync(this.path);
      return st.dev !== this.identity.dev || st.ino !== this.identity.ino;
    } catch {
      return true;
    }
  }

  /** Starts the long-running read transaction (no-op when held). */
  pin(): void {
    if (this.pinned) return;
    this.reader.exec("BEGIN");
    this.reader.prepare("SELECT COUNT(1) FROM _litestream_seq").get();
    this.pinned = true;
  }

  /** Ends the long-running read transaction (no-op when not held). */
  unpin(): void {
    if (!this.pinned) return;
    this.pinned = false;
    this.reader.exec("ROLLBACK");
  }

  /** True while we hold the write lock. */
  get locked(): boolean {
    return this.writing;
  }

  /**
   * Tries to take the write lock within `timeoutMs`. Returns false when someone else held it the
   * whole time (an application transaction, or a checkpoint waiting for readers).
   */
  tryLock(timeoutMs: number): boolean {
    if (this.writing) return true;
    const timeout = Math.max(0, Math.floor(timeoutMs));
    // Every tick probes with the same timeout: set it only when it changes.
    if (timeout !== this.writerTimeout) {
      this.writer.exec(`PRAGMA busy_timeout = ${timeout}`);
      this.writerTimeout = timeout;
    }
    try {
      this.writer.exec("BEGIN IMMEDIATE");
      this.writing = true;
      return true;
    } catch (err) {
      if (isBusy(err)) return false;
      throw err;
    }
  }

  /**
   * Bumps `_litestream_seq` inside the held write lock and commits: guarantees the WAL exists and
   * holds a frame, and — when the WAL was fully checkpointed before the lock was taken — makes SQLite
   * restart it right now, while nothing else can write. `shrink` truncates the WAL file at that commit.
   */
  commitSeq(shrink: boolean): void {
    if (!this.writing) throw new Error("commitSeq without the write lock");
    this.writer.exec(`PRAGMA journal_size_limit = ${shrink ? 0 : -1}`);
    this.writer.exec(
      "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1",
    );
    this.writer.exec("COMMIT");
    this.writing = false;
  }

  /**
   * Creates Litestream's two tables inside the held write lock when they are missing, and then commits,
   * which releases the lock; returns whether it did. Their creation waits for the write lock as every
   * other write of ours does, within the caller's bound: made at set-up with SQLite's busy timeout, a
   * first start failed ('database is locked') once an application held the lock for longer, or
   * committed back to back on a loaded machine.
   */
  createTables(): boolean {
    if (!this.writing) throw new Error("createTables without the write lock");
    const { n } = this.writer.prepare(
      "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name IN ('_litestream_seq', '_litestream_lock')",
    ).get() as { n: number };
    if (n === 2) return false;
    this.writer.exec("CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)");
    this.writer.exec("CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER)");
    this.writer.exec("COMMIT");
    this.writing = false;
    return true;
  }

  /** Releases the write lock without writing. */
  unlock(): void {
    if (!this.writing) return;
    this.writing = false;
    this.writer.exec("ROLLBACK");
  }

  /**
   * Runs a PASSIVE checkpoint on the reader connection (which must not be pinned). PASSIVE never
   * waits for anyone and needs no write lock, so it is safe while we hold the write lock ourselves.
   */
  checkpointPassive(): CheckpointResult {
    if (this.pinned) throw new Error("checkpoint while pinned would stop at our own read mark");
    const r = this.reader.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as {
      busy: number;
      log: number;
      checkpointed: number;
    };
    return { ran: r.busy === 0, log: r.log, checkpointed: r.checkpointed };
  }

  /**
   * True when another connection holds SQLite's checkpoint lock, i.e. is checkpointing right now: a
   * PASSIVE checkpoint on the writer connection (which must hold no transaction) then answers busy.
   * Otherwise that PASSIVE run copies back what no reader holds back, as an application's own
   * autocheckpoint does; it never waits and never restarts the WAL.
   */
  checkpointRunning(): boolean {
    const r = this.writer.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { busy: number };
    return r.busy !== 0;
  }

  /** Milliseconds since the database or its WAL was last modified. */
  idleMs(now = Date.now()): number {
    let m = 0;
    for (const p of [this.path, `${this.path}-wal`]) {
      try {
        m = Math.max(m, statSync(p).mtimeMs);
      } catch {
        // A missing WAL simply has no modification time.
      }
    }
    return now - m;
  }

  /** Lets go of a replaced database without closing its connections (see {@link abandoned}). */
  abandon(): void {
    try {
      this.unlock();
      this.unpin();
    } catch {
      // The old file may be gone; the transactions die with the connections at exit.
    }
    abandoned.push(this.reader, this.writer);
  }

  /** Releases both connections. */
  close(): void {
    try {
      this.unlock();
      this.unpin();
    } finally {
      this.reader.close();
      this.writer.close();
    }
  }
}
