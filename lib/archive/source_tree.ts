/**
 * The first of create's two passes: walk the parts of the server tree that go into an archive (without
 * following symbolic links), hash every file, and return the list of entries in archive order. The
 * manifest is written from this list before any data, so the second pass re-hashes what it streams and
 * fails if a file changed in between. Small files are kept in memory (within a budget) so the second
 * pass streams exactly the bytes that were hashed and does not read them again.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { toVigoError } from "../errors.ts";
import type { TarEntryType } from "./tar_format.ts";

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
  /** A private file nothing else writes (the database copy): the second pass need not re-hash it. */
  stable?: boolean;
}

/** Files up to this size are kept in memory between the passes. */
const SMALL_FILE = 256 * 1024;
/** Total memory for kept files; beyond it files are re-read (and re-hashed) in the second pass. */
const KEEP_BUDGET = 48 * 1024 * 1024;
/** Read size for streaming hashes. */
const READ_CHUNK = 1 << 20;

/** Accumulates the first pass over several roots. */
export class SourceWalker {
  readonly entries: SourceEntry[] = [];
  readonly warnings: string[] = [];
  #kept = 0;

  /** Adds one file or directory under `archivePath` (directories recursively, links as links). */
  async add(sourcePath: string, archivePath: string): Promise<void> {
    // Synchronous metadata calls on purpose: for thousands of small files one await per syscall costs
    // more than the syscalls themselves.
    let st: Stats;
    try {
      st = lstatSync(sourcePath);
    } catch (err) {
      throw toVigoError(err, sourcePath);
    }
    const base = {
      sourcePath,
      mode: st.mode & 0o7777,
      mtime: Math.floor(st.mtimeMs / 1000),
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
      for (const name of names) await this.add(join(sourcePath, name), `${archivePath}/${name}`);
    } else if (st.isSymbolicLink()) {
      let linkTarget: string;
      try {
        linkTarget = readlinkSync(sourcePath);
      } catch (err) {
        throw toVigoError(err, sourcePath);
      }
      this.entries.push({ ...base, archivePath, type: "symlink", linkTarget });
    } else if (st.isFile()) {
      this.entries.push(await this.#hashFile({ ...base, archivePath, type: "file", size: st.size }));
    } else {
      this.warnings.push(`${sourcePath}: skipped (not a regular file, directory or symbolic link)`);
    }
  }

  async #hashFile(entry: SourceEntry): Promise<SourceEntry> {
    try {
      if (entry.size <= SMALL_FILE && this.#kept + entry.size <= KEEP_BUDGET) {
        const content = new Uint8Array(readFileSync(entry.sourcePath));
        this.#kept += content.length;
        return { ...entry, size: content.length, content, sha256: sha256Hex(content) };
      }
      const { sha256, size } = await hashFile(entry.sourcePath);
      return { ...entry, size, sha256 };
    } catch (err) {
      throw toVigoError(err, entry.sourcePath);
    }
  }
}

/** Hex SHA-256 of a byte array. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Streams a file through SHA-256. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of readChunks(path)) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha256: h.digest("hex"), size };
}

/** Reads a file in 1 MiB chunks (the yielded buffer is reused: consume it before the next one). */
export async function* readChunks(path: string, limit = Infinity): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(READ_CHUNK);
    let left = limit;
    while (left > 0) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left));
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
