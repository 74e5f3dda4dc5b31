/**
 * `file:///path` — a Backend on a local (or NFS-mounted) directory. Objects are plain files under
 * the root, so a Litestream file replica and ours are the same tree. A put writes a hidden temp
 * file in the destination directory, fsyncs it, renames it into place and fsyncs the directory, so
 * a listing never shows a partial object; listings skip both our temp names (`.<name>.tmp-<pid>-<hex>`)
 * and Litestream's (`<name>.tmp`).
 */
import { open, readdir, rmdir, stat } from "node:fs/promises";
import { type BigIntStats, constants, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { ConfigError, IoError, NotFoundError, toVigoError } from "../../errors.ts";
import { removeNamed } from "../../fsutil/remove_named.ts";
import { createAtomicFile, fsyncDirectory, writeFileAtomic } from "../../fsutil/atomic_file.ts";
import {
  type Backend,
  fileWhereDirectory,
  LeftBehindError,
  type ObjectInfo,
  openBody,
  type PutBody,
  type PutOptions,
  stoppedPutError,
} from "../backend.ts";
import { checkTreeKey, type TreeEntry, walkTree } from "../file_tree.ts";
import { decodeUrlPart } from "../url_decode.ts";
import { ListingTemps } from "../listing_temps.ts";
import { pidRunning, staleTempDecision, sweepStaleTemps } from "../../fsutil/stale_temps.ts";
import { leftTemporaryError, NEXT_RUN_SWEEP, removalProblem } from "../../fsutil/left_temp.ts";

const READ_CHUNK = 256 * 1024;

/**
 * Root directory named by a `file:` URL (or a plain absolute path, as Litestream accepts). The text
 * after `file://` and its host (empty or `localhost`) is a literal path in which only "%" escapes are
 * decoded, as restic and rclone take a path: `file:///srv/a#b` is the directory `a#b`, where a URL
 * parser would cut it at the "#" (or a "?") and quietly use `/srv/a`, read "\" as "/" and drop tabs.
 * `.` and `..` segments resolve as before, and a "%" that starts no escape is an error naming the URL.
 */
export function fileUrlToRoot(url: string): string {
  if (url.startsWith("/")) return url.replace(/\/+$/, "") || "/";
  const m = /^file:\/\/([^/]*)(.*)$/is.exec(url);
  if (!m) {
    throw new ConfigError(
      /^[a-z][a-z0-9+.-]*:/i.test(url) ? `${url}: not a file:// URL` : `${url}: not a valid URL`,
    );
  }
  const [, host, path] = m;
  if (host !== "" && host.toLowerCase() !== "localhost") {
    throw new ConfigError(`${url}: file URLs need an absolute path (file:///dir), not a host "${host}"`);
  }
  if (path === "") throw new ConfigError(`${url}: file:// URL has no path`);
  // Refused rather than decoded into a separator that the URL did not show.
  if (/%2f/i.test(path)) {
    throw new ConfigError(`${url}: an encoded "/" (%2F) cannot be part of a file name`);
  }
  // toWellFormed: a lone surrogate (a quoted "\uD800" in YAML) has no UTF-8 form in a file name.
  return resolve(decodeUrlPart(path, url).toWellFormed());
}

/** Synchronous: nearly always the directory exists, and one system call says so (README, performance). */
function makeDirs(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  // Make the new directories themselves durable: fsync each parent that gained an entry.
  let d = dir;
  const stop = dirname(first);
  while (true) {
    const parent = dirname(d);
    fsyncDirectory(parent);
    if (parent === stop || parent === d) break;
    d = parent;
  }
}

/**
 * `err` (from reaching `path`) as a VigoError; ENOTDIR (or mkdir's EEXIST) names the component that
 * is a file where the backend keeps a directory, not `path`: "archives/a1.tar.gz: not a directory"
 * sent the operator after a name that was never there.
 */
function reachError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOTDIR" || code === "EEXIST") {
    for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
      let st;
      try {
        st = statSync(d);
      } catch {
        continue;
      }
      if (!st.isDirectory()) {
        return fileWhereDirectory(d);
      }
    }
  }
  return toVigoError(err, path);
}

/** Removes a stale temp file; true when it is gone. */
function rmStale(path: string): boolean {
  try {
    rmSync(path, { force: true });
    return true;
  } catch {
    return false;
  }
}

/** A Backend storing objects as files under a root directory. */
export class FileBackend implements Backend {
  readonly url: string;
  /** Absolute root directory. */
  readonly root: string;

  constructor(url: string) {
    this.root = fileUrlToRoot(url);
    this.url = url.startsWith("/") ? `file://${this.root}` : url;
  }

  #path(key: string): string {
    checkTreeKey(key);
    return join(this.root, ...key.split("/"));
  }

  /** Directories whose stale temp files (a put killed mid-way) this process has removed. */
  #swept = new Set<string>();

  /** The stale temp files this backend's listings removed, or found while sparing them. */
  #temps = new ListingTemps();

  removedTemps(): readonly string[] {
    return this.#temps.keys();
  }

  spareTemps(): void {
    this.#temps.spare();
  }

  async put(key: string, replayable: PutBody, opts: PutOptions = {}): Promise<void> {
    const path = this.#path(key);
    // A put's directory may never be listed (the replicator's claim file at the root; `backup upload`
    // checks its name with stat), so it is swept here, once per process, before a re-run's put after a
    // killed one would leave that one's temp file for good.
    const dir = dirname(path);
    if (!this.#swept.has(dir)) {
      this.#swept.add(dir);
      sweepStaleTemps(dir);
    }
    const body = openBody(replayable);
    const noReplace = opts.noReplace;
    if (body instanceof Uint8Array) {
      return await this.#inDir(path, () => writeFileAtomic(path, body, 0o600, { noReplace }));
    }
    const file = await this.#inDir(path, () => createAtomicFile(path, 0o600, { noReplace }));
    try {
      await body.pipeTo(file.writable());
      await file.commit();
    } catch (err) {
      const failure = toVigoError(stoppedPutError(err, opts.signal), path);
      await file.abort().catch((left) => {
        if (opts.signal?.aborted) {
          throw new LeftBehindError(`${file.tempPath}: could not be removed (${toVigoError(left).message})`);
        }
        // Its name carries this PID: the next run's put into this directory, or a listing, sweeps it.
        const problem = removalProblem(left, file.tempPath);
        throw leftTemporaryError(failure, file.tempPath, problem, NEXT_RUN_SWEEP);
      });
      throw failure;
    }
  }

  /** Makes the directory of `path`, then runs `create`, which makes the file. */
  async #inDir<T>(path: string, create: () => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        makeDirs(dirname(path));
      } catch (err) {
        throw reachError(err, path);
      }
      try {
        return await create();
      } catch (err) {
        // A concurrent delete may prune the directory between mkdir and create: make it again.
        if (!(err instanceof NotFoundError) || attempt >= 3) throw err;
      }
    }
  }

  async get(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = this.#path(key);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      // Without blocking, and a regular file or refused: open(2) of a FIFO put there waits for a writer,
      // past SIGTERM (a replicator's claim file as a FIFO hung it without a word).
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw reachError(err, path);
    }
    const st = await handle.stat().catch(async (err) => {
      await handle.close().catch(() => {});
      throw toVigoError(err, path);
    });
    if (!st.isFile()) {
      await handle.close().catch(() => {});
      throw new IoError(`${path}: not a regular file (the backend stores only files)`, { path });
    }
    return new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const buf = new Uint8Array(READ_CHUNK);
          const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, null);
          if (bytesRead === 0) {
            await handle.close();
            ctl.close();
          } else {
            ctl.enqueue(bytesRead === READ_CHUNK ? buf : buf.slice(0, bytesRead));
          }
        } catch (err) {
          await handle.close().catch(() => {});
          ctl.error(toVigoError(err, path));
        }
      },
      async cancel() {
        await handle.close().catch(() => {});
      },
    });
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    try {
      const st = await stat(path, { bigint: true });
      return st.isFile() ? { key, size: Number(st.size), mtime: objectTime(st) } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw reachError(err, path);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return walkTree(prefix, (dirKey) => this.#readDir(dirKey));
  }

  async #readDir(dirKey: string): Promise<TreeEntry[]> {
    const dir = dirKey === "" ? this.root : join(this.root, ...dirKey.split("/"));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      // A file where the backend keeps a directory (archives/, the root): said, not listed as empty,
      // which let list --remote and prune --remote report nothing there and exit 0.
      if (code === "ENOTDIR") {
        throw fileWhereDirectory(dir);
      }
      throw toVigoError(err, dir);
    }
    // A put killed mid-write left its temp file here: once its writer is dead, it goes (stale_temps.ts).
    const live = entries.filter((e) => {
      if (!e.isFile() || staleTempDecision(e.name, 0, pidRunning) !== "remove") return true;
      if (!this.#temps.spared && !rmStale(join(dir, e.name))) return true;
      this.#temps.record(dirKey, e.name);
      return false;
    });
    // Nothing but files and directories (links to files followed) is the backend's: anything else where
    // its objects lie (a FIFO, a device, a link to nothing or to a directory, which could loop) is said,
    // not skipped, which let a replica restore end at an older state (a WAL segment replaced: exit 0).
    const kinds = await Promise.all(live.map(async (e) => {
      if (e.isDirectory() || e.isFile()) return e.isDirectory();
      const path = join(dir, e.name);
      const st = e.isSymbolicLink() ? await stat(path).catch(() => null) : null;
      if (st?.isFile()) return false;
      throw new IoError(`${path}: not a regular file or directory (the backend stores only files)`, { path });
    }));
    return live.map((e, i) => ({
      name: e.name,
      dir: kinds[i],
      info: async () => {
        const path = join(dir, e.name);
        try {
          const st = await stat(path, { bigint: true });
          return { size: Number(st.size), mtime: objectTime(st) };
        } catch (err) {
          // Deleted between readdir and stat (retention running concurrently): not an object any more.
          if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
          throw toVigoError(err, path);
        }
      },
    }));
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const path = this.#path(key);
      await removeNamed(path);
      dirs.add(dirname(path));
    }
    // Prune directories left empty (a deleted generation leaves no husk for Litestream to list).
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await this.#pruneEmpty(d);
  }

  async #pruneEmpty(dir: string): Promise<void> {
    let d = dir;
    while (d.startsWith(this.root + sep) && d !== this.root) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      d = dirname(d);
    }
  }

  async close(): Promise<void> {}
}

/**
 * An object's time in the whole milliseconds a Date holds, rounded up from the file's nanoseconds:
 * a restore at T leaves out every object later than T, as Litestream does, and a segment written
 * 0.9 ms after T was later, which rounding down put inside it.
 */
function objectTime(st: BigIntStats): Date {
  return new Date(Number((st.mtimeNs + 999_999n) / 1_000_000n));
}
