/**
 * A consistent online image of a live SQLite database, read straight from its files without a copy
 * (docs/sqlite-snapshot.md). A connection on a worker thread opens a read transaction — the pin — and
 * keeps it while the image is read, twice if need be (create hashes it, then streams it). In WAL mode
 * the pin stops SQLite from restarting the WAL and from checkpointing anything newer than the pinned
 * snapshot into the database file, so the pages of frames 1..mxFrame of the `-wal`, and of the
 * database file for every other page, stay exactly the snapshot's. In rollback-journal mode a pin
 * held that long would keep the server's writers out (its shared lock), so there the database is
 * copied under a brief pin instead, as SQLite's online backup does. The same connection runs
 * `PRAGMA integrity_check` on the very snapshot meanwhile.
 *
 * Closing any descriptor of a file drops all of the process's locks on it, the pin's included, so the
 * live files are read through descriptors that are never closed (lib/sqlite/kept_descriptor.ts).
 */
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { immutableUri } from "./database_facts.ts";
import { BusyError, ConfigError, IoError, NotFoundError } from "../errors.ts";
import { withNote } from "../fsutil/left_temp.ts";
import { copyNote, defaultTempCopy, type LeftCopy, removeCopy, type TempCopy } from "./temp_copy.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import {
  releaseWorker,
  type ReplyQueue,
  startPinWorker,
  workerFailure,
  type WorkerReply,
} from "./pin_worker.ts";
import { DEFAULT_LOCK_TIMEOUT_MS } from "./read_lock.ts";
import { sqliteToVigoError } from "./sqlite_errors.ts";
import { WAL_INDEX_CHECKPOINT_BYTES } from "./wal_index.ts";
import { keptDescriptor } from "./kept_descriptor.ts";
import { parseFrameHeader, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE } from "./wal_format.ts";
import {
  checkFirstPage,
  checkWalHeader,
  fileHoldsSnapshot,
  indexFrames,
  parseWalSnapshot,
  type WalSnapshot,
} from "./snapshot_pages.ts";

/** Read size of the image: below glibc's mmap threshold, so reused reads never grow the RSS. */
const CHUNK = 64 * 1024;

/**
 * Refuses a database.path that is missing (exit 9) or not a regular file (exit 3) before anything opens
 * it: a FIFO would block open(2) for good. Create and its dry run ask alike.
 */
export function requireDatabaseFile(path: string): void {
  try {
    requireRegularFile(path, "database.path", (m) => new ConfigError(m));
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`${path}: database does not exist`);
    throw err;
  }
}

/**
 * The file at the database path is no longer the one being pinned (a restore renamed another into
 * place): pinning again, from the path, gets the new one.
 */
export class DatabaseReplacedError extends IoError {
  constructor(path: string) {
    super(`${path}: replaced while a snapshot was being pinned; run again`);
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** The pinned image. Call {@link PinnedDatabase.release} when done (also after a failure). */
export class PinnedDatabase {
  readonly pageSize: number;
  readonly pageCount: number;
  /** Bytes of the image. */
  readonly size: number;
  /** The live database's file, symbolic links resolved; its `-wal`, `-shm` and `-journal` share the name. */
  readonly liveFile: string;
  readonly #path: string;
  readonly #worker: Worker;
  readonly #replies: ReplyQueue;
  readonly #dbFd: number;
  readonly #walFd: number | undefined;
  /** The copy a rollback-journal database is read from, removed on release. */
  readonly #copy: TempCopy | undefined;
  /** Page number → offset of its page in the `-wal` (only pages the database file does not hold). */
  readonly #walPages: Map<number, number>;
  readonly #snapshot: WalSnapshot | null;
  #integrity: Promise<string> | undefined;
  #released: Promise<LeftCopy | undefined> | undefined;

  private constructor(
    path: string,
    worker: Worker,
    replies: ReplyQueue,
    shape: { pageSize: number; pageCount: number },
    files: {
      dbFd: number;
      walFd?: number;
      walPages: Map<number, number>;
      snapshot: WalSnapshot | null;
      copy?: TempCopy;
      liveFile: string;
    },
  ) {
    this.#path = path;
    this.#worker = worker;
    this.#replies = replies;
    this.pageSize = shape.pageSize;
    this.pageCount = shape.pageCount;
    this.size = shape.pageSize * shape.pageCount;
    this.#dbFd = files.dbFd;
    this.#walFd = files.walFd;
    this.#copy = files.copy;
    this.liveFile = files.liveFile;
    this.#walPages = files.walPages;
    this.#snapshot = files.snapshot;
  }

  /**
   * Pins the live database at `path`. Waiting for another process's lock is bounded by
   * `lockTimeoutMs` (then BusyError, exit 5). `tempCopy` makes the file a rollback-journal database is
   * copied to (default: under the system's temporary directory).
   */
  static async pin(
    path: string,
    lockTimeoutMs: number = DEFAULT_LOCK_TIMEOUT_MS,
    tempCopy: () => TempCopy = defaultTempCopy,
  ): Promise<PinnedDatabase> {
    requireDatabaseFile(path);
    // SQLite names the -wal and -shm after the file a symbolic link leads to; so do we.
    const file = realpathSync(path);
    requireWritableShm(file);
    const ino = statSync(file).ino;
    const started = startPinWorker();
    if (!started) throw new Error("this runtime cannot start worker threads, which create needs");
    const { worker, replies } = started;
    let copy: TempCopy | undefined;
    try {
      const ask = async <T extends WorkerReply["type"]>(msg: object, expect: T) => {
        worker.postMessage(msg);
        const r = await replies.next();
        if (r.type === "failed") throw workerFailure(r.message, path, lockTimeoutMs);
        if (r.type !== expect) throw new Error(`pin: expected ${expect}, got ${r.type}`);
        return r as Extract<WorkerReply, { type: T }>;
      };
      const deadline = Date.now() + lockTimeoutMs;
      let pinned: Extract<WorkerReply, { type: "pinned" }>;
      let shm: Uint8Array | null = null;
      // A commit landing between the -shm reads around the worker's BEGIN means the header read is not
      // provably the connection's snapshot: pin again.
      for (let attempt = 0;; attempt++) {
        const before = readShm(file);
        const timeoutMs = Math.max(0, deadline - Date.now());
        pinned = await ask({ type: "pin", path: file, timeoutMs }, "pinned");
        if (pinned.mode !== "wal") break;
        const after = readShm(file);
        if (before && after && sameBytes(before, after) && sameBytes(after, readShm(file))) {
          shm = after;
          break;
        }
        // The pin stays on the replaced file while the -shm read here is the new one's: they would
        // disagree until the deadline, and the message would blame commits.
        if (inodeOf(file) !== ino) throw new DatabaseReplacedError(path);
        if (Date.now() >= deadline) {
          const seconds = Math.round(lockTimeoutMs / 1000);
          throw new BusyError(
            `${path}: committed to without pause for ${seconds} s; no snapshot could be pinned (see --lock-timeout)`,
          );
        }
        if (attempt >= 10) await new Promise((r) => setTimeout(r, 5));
      }
      if (pinned.mode !== "wal") {
        copy = tempCopy();
        await ask({ type: "copy", path: copy.path, uri: immutableUri(copy.path) }, "copied");
        worker.postMessage({ type: "check" });
        const fd = openSync(copy.path, "r");
        return new PinnedDatabase(copy.path, worker, replies, pinned, {
          dbFd: fd,
          walPages: new Map(),
          snapshot: null,
          copy,
          liveFile: file,
        });
      }
      const dbFd = keptDescriptor(file);
      // The pin holds the file that was at `path` when the worker opened it: make sure it is this one.
      if (dbFd === null || fstatSync(dbFd).ino !== ino || statSync(file).ino !== ino) {
        throw new DatabaseReplacedError(path);
      }
      const files = {
        dbFd,
        walPages: new Map<number, number>(),
        snapshot: null as WalSnapshot | null,
        liveFile: file,
      };
      if (shm) {
        const snapshot = files.snapshot = parseWalSnapshot(shm);
        if (!snapshot) throw new IoError(`${file}-shm: WAL-index header unreadable while pinned`);
        // An empty WAL's header carries no page size or count (recovery of no frames sets neither).
        if (
          snapshot.mxFrame > 0 &&
          (snapshot.pageSize !== pinned.pageSize || snapshot.nPage !== pinned.pageCount)
        ) {
          throw new IoError(`${file}-shm: WAL-index header does not describe the pinned snapshot`);
        }
        if (!fileHoldsSnapshot(snapshot)) {
          const walFd = keptDescriptor(`${file}-wal`);
          if (walFd === null) throw new IoError(`${file}-wal: cannot be opened while pinned`);
          Object.assign(files, { walFd, walPages: mapWalPages(walFd, snapshot, `${file}-wal`) });
        }
      }
      worker.postMessage({ type: "check" });
      return new PinnedDatabase(file, worker, replies, pinned, files);
    } catch (err) {
      await releaseWorker(worker, replies).catch(() => {});
      const left = copy && removeCopy(copy);
      const failure = sqliteToVigoError(err, path, copy?.path);
      // The failure stays the error, its line naming the copy it leaves.
      throw left ? withNote(failure, copyNote(left)) : failure;
    }
  }

  /**
   * The image in chunks of up to 64 KiB, read into one reused buffer (consume each chunk before the
   * next). May be iterated more than once while pinned; every pass yields the same bytes.
   */
  *chunks(): Generator<Uint8Array> {
    const buf = new Uint8Array(CHUNK);
    const ps = this.pageSize;
    const perChunk = Math.max(1, Math.floor(CHUNK / ps));
    const frame = new Uint8Array(WAL_FRAME_HEADER_SIZE);
    for (let first = 1; first <= this.pageCount; first += perChunk) {
      const last = Math.min(this.pageCount, first + perChunk - 1);
      let p = first;
      while (p <= last) {
        const at = (p - first) * ps;
        const walOffset = this.#walPages.get(p);
        if (walOffset !== undefined) {
          this.#readWalPage(walOffset, buf.subarray(at, at + ps), frame, p);
          p++;
          continue;
        }
        // A run of pages the database file holds: one read.
        let end = p + 1;
        while (end <= last && !this.#walPages.has(end)) end++;
        this.#readExactly(this.#dbFd, buf.subarray(at, at + (end - p) * ps), (p - 1) * ps, this.#path);
        p = end;
      }
      const chunk = buf.subarray(0, (last - first + 1) * ps);
      if (first === 1) {
        const problem = checkFirstPage(chunk, ps, this.pageCount);
        if (problem) {
          throw new IoError(`${this.#path}: ${problem} (the image read is not the pinned snapshot)`);
        }
      }
      yield chunk;
    }
  }

  #readWalPage(offset: number, into: Uint8Array, frame: Uint8Array, page: number): void {
    const walPath = `${this.#path}-wal`;
    const fd = this.#walFd as number;
    this.#readExactly(fd, frame, offset - WAL_FRAME_HEADER_SIZE, walPath);
    const fh = parseFrameHeader(frame);
    // The pin forbids a WAL restart; a frame with other salts would mean it happened anyway.
    if (fh.pageNo !== page || fh.salt1 !== this.#snapshot?.salt1 || fh.salt2 !== this.#snapshot?.salt2) {
      throw new IoError(`${walPath}: frame of page ${page} changed while pinned`);
    }
    this.#readExactly(fd, into, offset, walPath);
  }

  #readExactly(fd: number, into: Uint8Array, position: number, path: string): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(fd, into, done, into.length - done, position + done);
      if (n === 0) throw new IoError(`${path}: ends early (at byte ${position + done}) while pinned`);
      done += n;
    }
  }

  /** `PRAGMA integrity_check` of the pinned snapshot ("ok" or the problems), run on the worker. */
  integrity(): Promise<string> {
    this.#integrity ??= this.#replies.next().then((r) => {
      if (r.type === "checked") return r.integrity;
      throw new IoError(
        `${this.#path}: integrity_check could not run (${r.type === "failed" ? r.message : r.type})`,
      );
    });
    return this.#integrity;
  }

  /**
   * Ends the pin. Idempotent. Resolves with the copy of a rollback-journal database when it could not be
   * removed: its caller's failure, or success, says so.
   */
  release(): Promise<LeftCopy | undefined> {
    this.#released ??= (async () => {
      // A check still running finishes first: the worker answers messages in order.
      await this.integrity().catch(() => {});
      await releaseWorker(this.#worker, this.#replies);
      if (!this.#copy) return undefined;
      closeSync(this.#dbFd);
      return removeCopy(this.#copy);
    })();
    return this.#released;
  }
}

/** Both WAL-index header copies and nBackfill, or null while there is no `-shm`. */
function readShm(path: string): Uint8Array | null {
  const fd = keptDescriptor(`${path}-shm`);
  if (fd === null) return null;
  const b = new Uint8Array(WAL_INDEX_CHECKPOINT_BYTES);
  return readSync(fd, b, 0, b.length, 0) === b.length ? b : null;
}

function sameBytes(a: Uint8Array, b: Uint8Array | null): boolean {
  return b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A read-only `-shm` makes SQLite keep a private WAL-index and take no read lock others can see: the
 * connection would pin nothing. SQLite would then still read correctly; a reader of the raw files
 * would not, so it is refused.
 */
function requireWritableShm(path: string): void {
  try {
    accessSync(`${path}-shm`, constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // not in WAL mode, or none yet
    throw new IoError(
      `${path}-shm: not writable by this user, so a consistent snapshot cannot be pinned; run as the database's owner`,
      { cause: err },
    );
  }
}

/** Page number → offset of the page's newest frame among 1..mxFrame. */
function mapWalPages(fd: number, s: WalSnapshot, walPath: string): Map<number, number> {
  const head = new Uint8Array(WAL_HEADER_SIZE);
  if (readSync(fd, head, 0, WAL_HEADER_SIZE, 0) !== WAL_HEADER_SIZE) {
    throw new IoError(`${walPath}: shorter than its header while pinned`);
  }
  const frameBytes = WAL_FRAME_HEADER_SIZE + s.pageSize;
  const buf = new Uint8Array(WAL_FRAME_HEADER_SIZE);
  try {
    checkWalHeader(head, s);
    const frames = function* () {
      for (let i = 0; i < s.mxFrame; i++) {
        if (readSync(fd, buf, 0, buf.length, WAL_HEADER_SIZE + i * frameBytes) !== buf.length) {
          throw new Error(`-wal ends at frame ${i}, the snapshot has ${s.mxFrame}`);
        }
        yield parseFrameHeader(buf);
      }
    };
    const pages = new Map<number, number>();
    for (const [page, frame] of indexFrames(frames(), s)) {
      pages.set(page, WAL_HEADER_SIZE + (frame - 1) * frameBytes + WAL_FRAME_HEADER_SIZE);
    }
    return pages;
  } catch (err) {
    throw new IoError(`${walPath}: ${(err as Error).message}`, { cause: err });
  }
}
