import {
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import process from "node:process";
import { ExistsError, NotFoundError, toVigoError, type VigoError } from "../errors.ts";
import { EarlyWriteback } from "./early_writeback.ts";
import { NEXT_RUN_SWEEP, removeTemporary, removingFile } from "./left_temp.ts";
import { noteOwnTemp } from "./stale_temps.ts";

/**
 * A file being written under a temporary name in its destination directory. Nothing appears under
 * the final name until {@link AtomicFile.commit} has fsynced the data, renamed it into place and
 * fsynced the directory, so a crash or an error never leaves a half-written file that looks complete.
 */
export interface AtomicFile {
  /** The final path the file gets on commit. */
  readonly path: string;
  /** The temporary path being written. */
  readonly tempPath: string;
  /** Open handle on the temporary file. */
  readonly handle: FileHandle;
  /** A web stream writing to the temporary file. */
  writable(): WritableStream<Uint8Array>;
  /**
   * fsync, close, rename into place, fsync the directory. `synced`: the caller fsynced the file after
   * its last write (to have it on disk before something else appears), so that fsync is not repeated.
   */
  commit(opts?: { synced?: boolean }): Promise<void>;
  /** Close and delete the temporary file. Safe to call after commit (then it does nothing). */
  abort(): Promise<void>;
  /**
   * {@link abort} for a write that failed with `failure`: resolves with what to throw, the failure
   * itself, which stays the error when the temporary file cannot be removed and then also says it is
   * left (abort's raw error replaced it).
   */
  abortKeeping(failure: unknown): Promise<unknown>;
}

/**
 * The most bytes {@link tempPathFor} adds to a file name: "." before it, then ".tmp-", the PID (pid_t
 * is a signed 32-bit integer: at most 10 digits), "-" and 12 hex digits.
 */
export const TEMP_NAME_EXTRA_BYTES = ".".length + ".tmp-".length + 10 + "-".length + 12;

/**
 * Temporary name next to `path`: hidden, recognisable, unique, and carrying this process's PID so the
 * next run can tell a dead process's leftover from a live write (stale_temps.ts).
 */
export function tempPathFor(path: string): string {
  const name = `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  noteOwnTemp(name);
  return join(dirname(path), name);
}

/** Options for {@link createAtomicFile}. */
export interface AtomicFileOptions {
  /**
   * Called with the temporary path just before the file is created, which then happens synchronously,
   * so that a signal handler (it runs between event-loop tasks) never finds the file existing but not
   * yet handed to this callback, nor still being created on the thread pool (interrupt cleanup).
   */
  beforeCreate?: (tempPath: string) => void;
  /**
   * Commit fails with ExistsError when the final path exists by then, instead of replacing it: a file
   * made there while this one was written (a second download to the same path) is not overwritten.
   */
  noReplace?: boolean;
}

/** The error for writing `path` into a folder that does not exist: it names the folder, not the file. */
function noSuchFolder(path: string, cause?: unknown): NotFoundError {
  return new NotFoundError(`${dirname(path)}: no such directory (to write ${basename(path)} into)`, {
    cause,
  });
}

/** Throws {@link NotFoundError} naming the folder when `path`'s folder does not exist. */
export function requireDestinationFolder(path: string): void {
  if (!existsSync(dirname(path))) throw noSuchFolder(path);
}

/** Throws {@link ExistsError} when something is at `path`: output is never written over. */
export function refuseExisting(path: string): void {
  if (existsSync(path)) throw existsError(path);
}

function existsError(path: string): ExistsError {
  return new ExistsError(`${path}: already exists (refusing to overwrite)`);
}

/** Creating a file failed: a missing destination folder is named as such, not as the file. */
function createError(err: unknown, path: string): VigoError {
  if ((err as NodeJS.ErrnoException)?.code === "ENOENT" && !existsSync(dirname(path))) {
    return noSuchFolder(path, err);
  }
  return toVigoError(err, path);
}

/** Opens `path` for atomic writing. `mode` applies to the final file. */
export async function createAtomicFile(
  path: string,
  mode = 0o600,
  opts: AtomicFileOptions = {},
): Promise<AtomicFile> {
  const tempPath = tempPathFor(path);
  let handle: FileHandle;
  let created = false;
  try {
    if (opts.beforeCreate) {
      opts.beforeCreate(tempPath);
      closeSync(openSync(tempPath, "wx", mode));
      created = true;
      handle = await open(tempPath, "r+");
    } else {
      handle = await open(tempPath, "wx", mode);
    }
  } catch (err) {
    const failure = createError(err, path);
    throw created ? removingTemp(failure, tempPath, path) : failure;
  }
  let done = false;
  // A stream's file is written once, front to back, and mostly faster than the disk takes it (an archive
  // compressed on two cores, a download): its pages go to disk while it is written, so the final fsync
  // does not write the whole file after the last byte (early_writeback.ts).
  let writeback: EarlyWriteback | undefined;
  const dropWriteback = () => writeback?.close().catch(() => {});
  return {
    path,
    tempPath,
    handle,
    writable() {
      const early = writeback = new EarlyWriteback(tempPath);
      return new WritableStream<Uint8Array>({
        async write(chunk) {
          let off = 0;
          try {
            while (off < chunk.byteLength) {
              const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off);
              off += bytesWritten;
            }
          } catch (err) {
            // An errored stream is neither closed nor aborted: its early sync's descriptor goes now.
            await dropWriteback();
            // Named here, as create and commit are: a caller piping into this stream (download) gets
            // the bare errno from pipeTo, and "no space left on device" alone names no file.
            throw toVigoError(err, path);
          }
          early.wrote(chunk.byteLength);
        },
        close: () => early.close(),
        abort: () => early.close().catch(() => {}),
      });
    },
    async commit(commitOpts = {}) {
      if (done) return;
      try {
        // What an early sync met, if the stream was not closed: Linux reports a writeback error once.
        await writeback?.close();
        if (!commitOpts.synced) await handle.sync();
        await handle.close();
        if (opts.noReplace) linkIntoPlace(tempPath, path);
        else renameSync(tempPath, path);
        fsyncDirectory(dirname(path));
        done = true;
      } catch (err) {
        done = true;
        await handle.close().catch(() => {});
        throw removingTemp(toVigoError(err, path), tempPath, path);
      }
    },
    async abort() {
      if (done) return;
      done = true;
      await dropWriteback();
      await handle.close().catch(() => {});
      rmSync(tempPath, { force: true });
    },
    async abortKeeping(failure) {
      if (done) return failure;
      done = true;
      await dropWriteback();
      await handle.close().catch(() => {});
      return removingTemp(failure, tempPath, path);
    },
  };
}

/**
 * What a write of `path` that failed with `failure` throws after removing its temporary file `tempPath`:
 * the failure, which stays the error when the file cannot be removed and then also says that it is left
 * (named as `path`'s, as the write's own errors are, when it is not a VigoError yet).
 */
export function removingTemp<F>(failure: F, tempPath: string, path: string): F | VigoError {
  return removingFile(failure, "temporary file", tempPath, NEXT_RUN_SWEEP, path);
}

/**
 * Puts `tempPath` at `path` unless something is there: link(2) refuses an existing name atomically,
 * which rename(2) would replace. Where the file system has no hard links (vfat, some FUSE mounts) the
 * check and the rename are two steps, the best that is left.
 */
export function linkIntoPlace(tempPath: string, path: string): void {
  try {
    linkSync(tempPath, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw existsError(path);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
    refuseExisting(path);
    renameSync(tempPath, path);
    return;
  }
  // The file is in place: a temporary name that cannot go now is a second name of it, which the next
  // run's sweep removes (it carries this PID). Failing here would report a write that happened as
  // failed, and its caller would undo the rest (create removed the archive's sidecar).
  removeTemporary(tempPath);
}

/**
 * Writes `data` to `path` atomically (see {@link createAtomicFile}): a small file written whole. On any
 * failure the temporary file is removed and the error names `path`. The bytes go to the page cache
 * synchronously; only the fsync, which waits for the disk, leaves the event loop — every thread-pool
 * round trip costs a replicator that writes a segment each second measurable CPU (README, performance).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  opts: AtomicFileOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tempPath = tempPathFor(path);
  opts.beforeCreate?.(tempPath);
  let fd: number | null;
  try {
    fd = openSync(tempPath, "wx", mode);
  } catch (err) {
    throw createError(err, path);
  }
  try {
    for (let n = 0; n < bytes.length;) n += writeSync(fd, bytes, n, bytes.length - n);
    await fsyncFd(fd);
    closeSync(fd);
    fd = null;
    if (opts.noReplace) linkIntoPlace(tempPath, path);
    else renameSync(tempPath, path);
    fsyncDirectory(dirname(path));
  } catch (err) {
    if (fd !== null) closeSync(fd);
    throw removingTemp(toVigoError(err, path), tempPath, path);
  }
}

/** fsyncs an open descriptor on the runtime's thread pool, so the wait for the disk leaves the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => err ? reject(err) : resolve()));
}

/** fsyncs a directory so that a rename inside it survives a crash. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
