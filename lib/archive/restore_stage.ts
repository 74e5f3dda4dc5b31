/**
 * Restore's first step for each archive entry: put it into the staging directory. Directories and
 * links are made at once; small files are buffered and created on a worker thread (BackgroundFiles);
 * larger ones, the database among them, are written here as they stream, and every file is then
 * recorded for StagingSync to make durable.
 */
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { toVigoError } from "../errors.ts";
import type { TarHeader } from "../codec/tar/tar_format.ts";
import type { EntrySink } from "./archive_scan.ts";
import { DB_ENTRY_PATH, type ManifestEntry } from "./manifest.ts";
import type { BackgroundFiles } from "../fsutil/background_files.ts";
import { concatBytes } from "../bytes.ts";
import type { StagingSync } from "./staging_sync.ts";
import { EarlyWriteback } from "../fsutil/early_writeback.ts";
import { verbose, verboseEnabled } from "../verbose.ts";

/** Where {@link stageEntry} puts things. */
export interface Stage {
  syncer: StagingSync;
  /** Creates the small files off this thread. */
  files: BackgroundFiles;
  staging: string;
  dirs: { path: string; header: TarHeader }[];
  onClosed: (path: string) => void;
  /**
   * Directories of the staging tree made so far. Only this restore writes there, so a directory once
   * made stays: the next entry in it skips `mkdir -p`, which cost a tenth of the main thread's samples
   * for 10,000 files.
   */
  made: Set<string>;
}

/**
 * Files up to this size are buffered and created by {@link BackgroundFiles}. It must stay below
 * StagingSync's LARGE (1 MiB), which fsyncs a file at once when it is added: these files may not
 * exist yet then, and are covered by the syncfs after BackgroundFiles.flush().
 */
const SMALL_FILE = 256 * 1024;

export function stageEntry(
  { syncer, files, staging, dirs, onClosed, made }: Stage,
  entry: ManifestEntry,
  header: TarHeader,
): EntrySink | undefined {
  // Synchronous calls on purpose: for thousands of small files one await per syscall costs more
  // than the syscalls; the slow part (making them durable) happens once, in StagingSync.flush().
  // Sync fs calls' errors carry no path, so each is named here (disk full must say where).
  const dest = join(staging, entry.path);
  if (verboseEnabled()) verbose(`restore ${entry.path}`);
  const named = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw toVigoError(err, dest);
    }
  };
  return named(() => {
    const parent = dirname(dest);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true, mode: 0o700 });
      made.add(parent);
    }
    if (entry.type === "dir") {
      if (!made.has(dest)) mkdirSync(dest, { recursive: true, mode: 0o700 });
      made.add(dest);
      dirs.push({ path: entry.path, header });
      return undefined;
    }
    if (entry.type === "symlink") {
      symlinkSync(entry.target!, dest);
      if (isRoot()) lchownSync(dest, header.uid, header.gid);
      const t = fileTime(header.mtime);
      lutimesSync(dest, t, t);
      return undefined;
    }
    if (header.size <= SMALL_FILE && entry.path !== DB_ENTRY_PATH) {
      const parts: Uint8Array[] = [];
      return {
        write(chunk) {
          parts.push(chunk.slice()); // the reader reuses its buffers
          return Promise.resolve();
        },
        async close() {
          const owner = isRoot() ? { uid: header.uid, gid: header.gid } : undefined;
          await files.write({
            path: dest,
            // Each part is a copy of its own: one part is handed over as it is.
            data: parts.length === 1 ? parts[0] : concatBytes(parts),
            mode: header.mode,
            mtime: header.mtime,
            owner,
          });
          syncer.add(dest, header.size);
        },
      };
    }
    const fd = openSync(dest, "wx", 0o600);
    // Written once, front to back: its pages can go to disk while the rest of the archive is read.
    const writeback = new EarlyWriteback(dest);
    return {
      write(chunk) {
        named(() => {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        });
        writeback.wrote(chunk.length);
        return Promise.resolve();
      },
      async close() {
        try {
          await writeback.close();
          named(() => {
            if (isRoot()) fchownSync(fd, header.uid, header.gid);
            fchmodSync(fd, header.mode & 0o7777);
            const t = fileTime(header.mtime);
            futimesSync(fd, t, t);
          });
        } finally {
          named(() => closeSync(fd));
        }
        onClosed(entry.path);
        syncer.add(dest, header.size);
      },
      async abort() {
        // The staging directory is removed after a failure; only the descriptors must not outlive it.
        await writeback.close().catch(() => {});
        closeSync(fd);
      },
    };
  });
}

let root: boolean | undefined;

/** Whether owners are restored; asked once (a native call per entry showed in the profile). */
function isRoot(): boolean {
  return root ??= process.getuid?.() === 0;
}

export function applyMeta(path: string, h: TarHeader): void {
  if (isRoot()) lchownSync(path, h.uid, h.gid);
  chmodSync(path, h.mode & 0o7777);
  const t = fileTime(h.mtime);
  utimesSync(path, t, t);
}

/** A Date, not seconds: node:fs (Deno and Bun) takes a negative number (before 1970) for "now". */
function fileTime(seconds: number): Date {
  return new Date(seconds * 1000);
}
