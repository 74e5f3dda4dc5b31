/**
 * Builds one hardlink snapshot of a directory tree: every regular file whose size, mtime, mode (and
 * owner, when running as root) match the same path in the previous snapshot is hardlinked to it; the
 * rest is copied. Directories, symlinks, modes, ownership (as root) and mtimes are preserved. The file
 * system calls are synchronous on purpose: one lstat + one link per unchanged file is the whole cost,
 * and sync calls avoid a thread-pool round trip per file. The walk still yields to the event loop every
 * {@link YIELD_EVERY_MS}: a SIGINT/SIGTERM handler only runs between event-loop tasks, and the crate
 * run's (lib/crate/resource_run.ts) must remove the snapshot being built and run post_command.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  type Stats,
  statSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { join } from "node:path";
import { IoError, NotFoundError, toVigoError } from "../errors.ts";
import { readLinkTarget, refuseUndecodedName } from "../fsutil/link_target.ts";
import type { CrossFs } from "./crate_file.ts";
import type { ExcludeMatcher } from "./exclude_glob.ts";

/** Counts of what a snapshot build did (or, in a dry run, would do). */
export interface TreeStats {
  /** Regular files hardlinked to the previous snapshot. */
  linked: number;
  /** Regular files copied. */
  copied: number;
  /** Bytes of the copied files. */
  bytesCopied: number;
  /** Directories (not counting the snapshot root). */
  dirs: number;
  symlinks: number;
  /** Entries matched by an exclude pattern (a directory counts once). */
  excluded: number;
  /** Sockets, FIFOs and device nodes: not backed up. */
  skippedSpecial: number;
  /** Files that disappeared between listing and copying. */
  vanished: number;
  /** Relative paths that are (or would be) copied; filled only when `recordCopies` is set. */
  copiedPaths: string[];
}

/** How to build. */
export interface TreeOptions {
  /** Decide only; write nothing. */
  dryRun: boolean;
  /** chown/lchown copies to the source's owner (only possible as root). */
  preserveOwner: boolean;
  /** What a failed hardlink across filesystems (EXDEV) does: fail, or copy (warn: with a warning). */
  crossFs: CrossFs;
  /** Collect the relative paths of copied files. */
  recordCopies: boolean;
  /** Receives warnings for the run report. */
  warn: (msg: string) => void;
  /** Hears of every entry walked (progress of a long run). */
  onEntry?: () => void;
}

/** Longest stretch of synchronous walking before the event loop gets a turn (signal latency). */
const YIELD_EVERY_MS = 50;

/** Snapshots `sourceDir` into `destDir` (already created), linking against `prevDir` when given. */
export async function buildTreeSnapshot(
  sourceDir: string,
  destDir: string,
  prevDir: string | null,
  exclude: ExcludeMatcher,
  opts: TreeOptions,
): Promise<TreeStats> {
  const stats: TreeStats = {
    linked: 0,
    copied: 0,
    bytesCopied: 0,
    dirs: 0,
    symlinks: 0,
    excluded: 0,
    skippedSpecial: 0,
    vanished: 0,
    copiedPaths: [],
  };
  let rootStat: Stats;
  try {
    rootStat = statSync(sourceDir);
  } catch (err) {
    throw toVigoError(err, sourceDir);
  }
  if (!rootStat.isDirectory()) throw new IoError(`${sourceDir}: source_dir is not a directory`);
  const walker = new Walker(exclude, opts, stats);
  await walker.walkDir(sourceDir, destDir, prevDir, "");
  if (!opts.dryRun) walker.applyMeta(destDir, rootStat, false);
  return stats;
}

class Walker {
  private exdevWarned = false;
  private yieldAt = performance.now() + YIELD_EVERY_MS;

  constructor(
    private readonly exclude: ExcludeMatcher,
    private readonly opts: TreeOptions,
    private readonly stats: TreeStats,
  ) {}

  async walkDir(srcDir: string, destDir: string, prevDir: string | null, rel: string): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(srcDir).sort();
    } catch (err) {
      // a subdirectory deleted while we walk is a vanished entry, like a vanished file
      if (rel !== "" && (err as NodeJS.ErrnoException).code === "ENOENT") {
        this.stats.vanished++;
        return;
      }
      throw toVigoError(err, srcDir);
    }
    for (const name of names) {
      if (performance.now() >= this.yieldAt) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.yieldAt = performance.now() + YIELD_EVERY_MS;
      }
      this.opts.onEntry?.();
      const relPath = rel === "" ? name : `${rel}/${name}`;
      if (this.exclude.excludes(relPath)) {
        this.stats.excluded++;
        continue;
      }
      const src = join(srcDir, name);
      const dest = join(destDir, name);
      const prev = prevDir === null ? null : join(prevDir, name);
      const st = lstatSync(src, { throwIfNoEntry: false });
      if (!st) {
        // Counted as vanished, such a file was left out of every snapshot without a word.
        refuseUndecodedName(src, name);
        this.stats.vanished++;
        continue;
      }
      if (st.isDirectory()) {
        this.stats.dirs++;
        if (!this.opts.dryRun) this.mkdir(dest);
        // a path that was a file in the previous snapshot has nothing to link against below it
        await this.walkDir(src, dest, prev !== null && statIfAny(prev)?.isDirectory() ? prev : null, relPath);
        if (!this.opts.dryRun) this.applyMeta(dest, st, false);
      } else if (st.isFile()) {
        this.file(src, dest, prev, relPath, st);
      } else if (st.isSymbolicLink()) {
        if (this.opts.dryRun || this.symlink(src, dest, st)) this.stats.symlinks++;
        else this.stats.vanished++;
      } else {
        this.stats.skippedSpecial++;
        this.opts.warn(`${relPath}: not a regular file, directory or symlink; skipped`);
      }
    }
  }

  private file(src: string, dest: string, prev: string | null, relPath: string, st: Stats): void {
    const pst = prev === null ? undefined : statIfAny(prev);
    if (pst && pst.isFile() && this.unchanged(st, pst)) {
      if (this.opts.dryRun || this.link(prev!, dest)) {
        this.stats.linked++;
        return;
      }
    }
    if (this.opts.recordCopies) this.stats.copiedPaths.push(relPath);
    if (!this.opts.dryRun) {
      try {
        copyFileSync(src, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && !lstatSync(src, { throwIfNoEntry: false })) {
          this.stats.vanished++;
          return;
        }
        // Disk full or read-only is the snapshot's side: name where it was writing, not the source.
        const code = (err as NodeJS.ErrnoException).code ?? "";
        throw toVigoError(err, ["ENOSPC", "EDQUOT", "EROFS", "EFBIG"].includes(code) ? dest : src);
      }
      this.applyMeta(dest, st, false);
    }
    this.stats.copied++;
    this.stats.bytesCopied += st.size;
  }

  /** Same size, mtime (to the precision {@link utimeArg} sets), mode and, as root, owner. */
  private unchanged(a: Stats, b: Stats): boolean {
    if (a.size !== b.size || (a.mode & 0o7777) !== (b.mode & 0o7777)) return false;
    if (Math.abs(a.mtimeMs - b.mtimeMs) >= (a.mtimeMs < 0 ? 1 : 0.001)) return false;
    return !this.opts.preserveOwner || (a.uid === b.uid && a.gid === b.gid);
  }

  /** Hardlinks; false when the link is impossible and the file must be copied instead. */
  private link(prev: string, dest: string): boolean {
    try {
      linkSync(prev, dest);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EMLINK: the inode reached the filesystem's link limit; a fresh copy starts a new chain
      if (code === "EMLINK") return false;
      if (code !== "EXDEV") throw toVigoError(err, dest);
      if (this.opts.crossFs === "fail") {
        throw new IoError(`${dest}: cannot hardlink to ${prev} across filesystems (cross_fs: fail)`);
      }
      if (this.opts.crossFs === "warn" && !this.exdevWarned) {
        this.exdevWarned = true;
        this.opts.warn(`previous snapshot is on another filesystem; copying instead of hardlinking`);
      }
      return false;
    }
  }

  private mkdir(dest: string): void {
    try {
      // owner-only until applyMeta: a read-only source directory must still be writable while filled
      mkdirSync(dest, 0o700);
    } catch (err) {
      throw toVigoError(err, dest);
    }
  }

  /** Copies the link; false when it vanished since it was listed (as a vanished file is, counted). */
  private symlink(src: string, dest: string, st: Stats): boolean {
    let target: string;
    try {
      // Read as a whole target or refused (exit 4): Bun would hand back U+FFFD for bytes that are not
      // UTF-8, and the copy would point somewhere else.
      target = readLinkTarget(src);
    } catch (err) {
      // Deleted mid-walk: the whole snapshot failed (exit 9) where a vanished file or directory is counted.
      if (err instanceof NotFoundError && !lstatSync(src, { throwIfNoEntry: false })) return false;
      throw err;
    }
    try {
      symlinkSync(target, dest);
      this.applyMeta(dest, st, true);
    } catch (err) {
      throw toVigoError(err, dest);
    }
    return true;
  }

  /** Owner (as root), mode and times; in that order because chown clears set-id bits. */
  applyMeta(dest: string, st: Stats, isLink: boolean): void {
    try {
      if (isLink) {
        if (this.opts.preserveOwner) lchownSync(dest, st.uid, st.gid);
        lutimesSync(dest, utimeArg(linkTimeMs(st.atimeMs)), utimeArg(linkTimeMs(st.mtimeMs)));
        return;
      }
      if (this.opts.preserveOwner) chownSync(dest, st.uid, st.gid);
      chmodSync(dest, st.mode & 0o7777);
      utimesSync(dest, utimeArg(st.atimeMs), utimeArg(st.mtimeMs));
    } catch (err) {
      throw toVigoError(err, dest);
    }
  }
}

/**
 * A time for utimes. Seconds as a number are set to under a microsecond by Bun (the executables); Deno
 * reads and sets whole milliseconds whatever it is given. node:fs takes a negative number for "now", so a
 * time before 1970 goes as a Date, to the millisecond.
 */
function utimeArg(ms: number): number | Date {
  return ms < 0 ? new Date(ms) : ms / 1000;
}

/** Deno's lutimes fails (EINVAL) on a time before 1970 with a fraction of a second: such link times lose it. */
function linkTimeMs(ms: number): number {
  return ms < 0 ? Math.floor(ms / 1000) * 1000 : ms;
}

/** lstat, or undefined when nothing (usable) is there. */
function statIfAny(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw toVigoError(err, path);
  }
}
