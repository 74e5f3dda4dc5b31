/**
 * The first of create's two passes: walk the parts of the server tree that go into an archive (without
 * following symbolic links), hash every file, and return the list of entries in archive order. The
 * manifest is written from this list before any data, so the second pass re-hashes what it streams and
 * fails if a file changed in between. Small files are kept in memory (within a budget) so the second
 * pass streams exactly the bytes that were hashed and does not read them again.
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readSync, type Stats } from "node:fs";
import { join } from "node:path";
import { toVigoError } from "../errors.ts";
import type { TarEntryType } from "../codec/tar/tar_format.ts";
import { checkLinkTarget } from "./manifest.ts";
import { concatBytes } from "../bytes.ts";
import { readLinkTarget, refuseUndecodedName } from "../fsutil/link_target.ts";
import type { OwnFileVerdict } from "./own_files.ts";
import { mtimeSeconds } from "../fsutil/mtime_seconds.ts";

/** One entry to archive, with the facts the first pass found. */
export interface SourceEntry {
  /** Archive path; directories end in `/`. */
  archivePath: string;
  /** Absolute path on disk. */
  sourcePath: string;
  type: TarEntryType;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
  linkTarget?: string;
  sha256?: string;
  /** The file's content when it was small enough to keep from the first pass. */
  content?: Uint8Array;
  /** Reads the bytes when they are not a plain file's (the pinned database image), each pass anew. */
  read?: () => Iterable<Uint8Array>;
}

/** Files up to this size are kept in memory between the passes. */
const SMALL_FILE = 256 * 1024;
/** Total memory for kept files; beyond it files are re-read (and re-hashed) in the second pass. */
const KEEP_BUDGET = 48 * 1024 * 1024;
/** Read size for streaming hashes and the second pass. */
const READ_CHUNK = 64 * 1024;

/** Accumulates the first pass over several roots. */
export class SourceWalker {
  readonly entries: SourceEntry[] = [];
  readonly warnings: string[] = [];
  #kept = 0;
  /** One read buffer for the whole walk: a buffer per file would churn the allocator. */
  #buf = new Uint8Array(READ_CHUNK);

  /**
   * `onBytes` hears of every chunk hashed (progress of the first pass). Paths in `skip` (the live
   * database's files, when they lie inside an archived tree) are left out with a warning: the database
   * is archived once, as db/vigo.db, and opening its files here would end the pin's locks
   * (lib/sqlite/kept_descriptor.ts). Paths `own` names (own_files.ts) are left out with its warning.
   * Files and links at archive paths in `leaveOut` (secrets/.master.key under --exclude-master-key) are
   * left out silently, before they are opened: a file that will not be archived need not be readable.
   */
  constructor(
    private readonly onBytes: (n: number) => void = () => {},
    private readonly skip: ReadonlySet<string> = new Set(),
    private readonly own: (sourcePath: string) => OwnFileVerdict = () => undefined,
    private readonly leaveOut: ReadonlySet<string> = new Set(),
  ) {}

  /** Adds one file or directory under `archivePath` (directories recursively, links as links). */
  add(sourcePath: string, archivePath: string, listed = false): void {
    if (this.skip.has(sourcePath)) {
      this.warnings.push(
        `${sourcePath}: belongs to the live database (archived as db/vigo.db); not archived here`,
      );
      return;
    }
    const own = listed ? this.own(sourcePath) : undefined;
    if (own !== undefined) {
      if (own) this.warnings.push(own);
      return;
    }
    // Synchronous metadata calls on purpose: for thousands of small files one await per syscall costs
    // more than the syscalls themselves.
    let st: Stats;
    try {
      st = lstatSync(sourcePath);
    } catch (err) {
      if (listed && isGone(err)) {
        // Losing such a file silently would shrink the backup, so create stops.
        refuseUndecodedName(sourcePath, archivePath);
        return this.#vanished(sourcePath);
      }
      throw toVigoError(err, sourcePath);
    }
    // A directory there is archived as before: only a file or a link can be the key.
    if (this.leaveOut.has(archivePath) && (st.isFile() || st.isSymbolicLink())) return;
    const base = {
      sourcePath,
      mode: st.mode & 0o7777,
      mtime: mtimeSeconds(st, sourcePath),
      uid: st.uid,
      gid: st.gid,
      size: 0,
    };
    if (st.isDirectory()) {
      this.entries.push({ ...base, archivePath: `${archivePath}/`, type: "dir" });
      let names: string[];
      try {
        names = readdirSync(sourcePath);
      } catch (err) {
        throw toVigoError(err, sourcePath);
      }
      names.sort();
      for (const name of names) this.add(join(sourcePath, name), `${archivePath}/${name}`, true);
    } else if (st.isSymbolicLink()) {
      const linkTarget = readLinkTarget(sourcePath);
      try {
        checkLinkTarget(archivePath, linkTarget);
      } catch {
        // restore refuses links that point out of the tree, so archiving one would make the whole
        // archive unrestorable: leave it out and say so.
        this.warnings.push(
          `${sourcePath}: symbolic link to ${linkTarget} points outside the archived tree; skipped`,
        );
        return;
      }
      this.entries.push({ ...base, archivePath, type: "symlink", linkTarget });
    } else if (st.isFile()) {
      let entry: SourceEntry;
      try {
        entry = this.#hashFile({ ...base, archivePath, type: "file", size: st.size });
      } catch (err) {
        if (listed && isGone(err)) return this.#vanished(sourcePath);
        throw err;
      }
      this.entries.push(entry);
    } else {
      this.warnings.push(`${sourcePath}: skipped (not a regular file, directory or symbolic link)`);
    }
  }

  /**
   * Adds bytes that are not read from a file by path (the pinned database image): hashed now from
   * `read`, which the second pass calls again.
   */
  addBytes(entry: Omit<SourceEntry, "type" | "size" | "sha256">, read: () => Iterable<Uint8Array>): void {
    this.entries.push({ ...entry, type: "file", ...this.#hash(read()), read });
  }

  /** SHA-256 and size of `chunks`, counted as progress; `each` sees every chunk too. */
  #hash(chunks: Iterable<Uint8Array>, each?: (chunk: Uint8Array) => void): { size: number; sha256: string } {
    const h = createHash("sha256");
    let size = 0;
    for (const chunk of chunks) {
      h.update(chunk);
      size += chunk.length;
      this.onBytes(chunk.length);
      each?.(chunk);
    }
    return { size, sha256: h.digest("hex") };
  }

  #vanished(path: string): void {
    // Editors and tools rename temporary files all the time: a file gone since readdir is not an error.
    this.warnings.push(`${path}: removed while the tree was being read; not archived`);
  }

  #hashFile(entry: SourceEntry): SourceEntry {
    try {
      const keep = entry.size <= SMALL_FILE && this.#kept + entry.size <= KEEP_BUDGET;
      const parts: Uint8Array[] = [];
      const { size, sha256 } = this.#hash(
        readChunks(entry.sourcePath, Infinity, this.#buf),
        keep ? (chunk) => parts.push(chunk.slice()) : undefined,
      );
      if (!keep || size > SMALL_FILE) return { ...entry, size, sha256 };
      this.#kept += size;
      const content = parts.length === 1 ? parts[0] : concatBytes(parts);
      return { ...entry, size, sha256, content };
    } catch (err) {
      throw toVigoError(err, entry.sourcePath);
    }
  }
}

/** A file listed in its directory that was deleted (or renamed away) before it could be read. */
function isGone(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === "ENOENT" || e?.cause?.code === "ENOENT";
}

/**
 * Reads a file in 64 KiB chunks into one reused buffer (consume each chunk before the next). Reads are
 * synchronous and small on purpose: a page-cache read of 64 KiB takes microseconds, far less than an
 * await, and buffers below glibc's 128 KiB mmap threshold keep the allocator from growing the RSS.
 */
export function* readChunks(
  path: string,
  limit = Infinity,
  buf: Uint8Array = new Uint8Array(READ_CHUNK),
): Generator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    let left = limit;
    while (left > 0) {
      const bytesRead = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}
