/**
 * One process at a time per target: an advisory `flock(2)` on a small file beside the target,
 * holding the owner's PID as text. The kernel drops the lock when the process dies (SIGKILL, OOM,
 * power loss), so a crashed owner never blocks the next run; a lock file left behind by a crash is
 * simply locked again. Lock file names are listed in the README ("Reliability").
 *
 * Node's `fs` has no flock, so the lock itself comes from lib/runtime.ts (`openLockHandle`): Deno has
 * `FsFile.tryLockSync` (flock), Bun reaches libc's `flock` through `bun:ffi`. Both take the same kernel
 * lock, so a Deno-run and a Bun-compiled vigocli exclude each other.
 */
import { lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import process from "node:process";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BusyError, toVigoError } from "../errors.ts";
import { pidRunning } from "./stale_temps.ts";
import { type LockHandle, openLockHandle } from "../runtime.ts";

/** A lock held by this process; `using lock = await acquireFileLock(…)` releases it at scope exit. */
export interface FileLock extends Disposable {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file and releases the lock (idempotent). */
  release(): void;
}

function inoOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** The PID written in a lock file, or null while its owner has not written it yet. */
export function lockHolder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock at `lockPath` without waiting, or throws {@link BusyError} (exit 5): "`target`:
 * `activity` already running as PID n (lock lockPath)".
 */
export async function acquireFileLock(lockPath: string, target: string, activity: string): Promise<FileLock> {
  // A releaser unlinks the file while still holding it: whoever locked that old inode meanwhile
  // holds a lock nobody else will look at, so it must try again on the new file.
  for (let attempt = 0;; attempt++) {
    let h: LockHandle;
    try {
      h = await openLockHandle(lockPath);
    } catch (err) {
      throw toVigoError(err, lockPath);
    }
    let locked = false;
    try {
      locked = h.tryLock();
      if (locked && h.ino() === inoOf(lockPath)) {
        h.writePid(`${process.pid}\n`);
        return held(lockPath, h);
      }
    } catch (err) {
      // A full disk takes the lock file (an inode) but not its PID: an empty lock file must not stay.
      try {
        if (locked && h.ino() === inoOf(lockPath)) unlinkSync(lockPath);
      } catch {
        // The error being reported is the write's; a file that cannot go either is named by it.
      }
      h.close();
      throw toVigoError(err, lockPath);
    }
    const ino = h.ino();
    h.close();
    if (!locked) {
      let pid = lockHolder(lockPath);
      // The owner writes its PID right after locking; a holder whose PID is not running, or that names
      // none (a killed owner's empty file), is a sweep (removeStaleLocks) unlinking a dead owner's file,
      // or a dry-run prune's that only locks it for a moment and leaves it. Each gets a moment: then the
      // PID is known, or the file is gone and its successor is tried, or the same file again once no
      // running PID is all it names.
      const live = () => pid !== null && pidRunning(pid);
      for (let i = 0; !live() && inoOf(lockPath) === ino && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 10));
        pid = lockHolder(lockPath);
      }
      if ((inoOf(lockPath) !== ino || !live()) && attempt < 10) continue;
      throw new BusyError(
        `${target}: ${activity} already running as PID ${pid ?? "unknown"} (lock ${lockPath})`,
      );
    }
    if (attempt >= 10) throw new BusyError(`${lockPath}: lock file keeps being replaced; cannot lock it`);
  }
}

/**
 * Removes the lock files `<dir>/*<suffix>` that nobody holds and returns their paths: what an owner
 * killed outright (SIGKILL, OOM, power loss) leaves. Harmless, as the next owner simply locks it again,
 * but only a run for that very target would ever remove it. Each is locked before it is unlinked, as a
 * release does. Best effort: an entry that cannot be opened or removed is left. With `dryRun`, returns the
 * same files and unlinks none: each is locked and released again, nobody holding it being known only so.
 */
export async function removeStaleLocks(dir: string, suffix: string, dryRun = false): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => n.endsWith(suffix))) {
    const path = join(dir, name);
    let h: LockHandle;
    try {
      // Never through a symlink or onto something else of that name; and never made again when its
      // owner released it meanwhile (unlinked): a dry run would leave a lock file that was not there.
      if (!lstatSync(path).isFile()) continue;
      h = await openLockHandle(path, false);
    } catch {
      continue;
    }
    try {
      if (h.tryLock() && h.ino() === inoOf(path)) {
        if (!dryRun) unlinkSync(path);
        removed.push(path);
      }
    } catch {
      // Raced with its owner or another sweep, or not ours to remove: leave it.
    } finally {
      h.close();
    }
  }
  return removed;
}

// Locks still held when the process exits (process.exit from a signal handler, or from main after
// a failure) are released by the kernel anyway; their files are removed here so no run leaves one.
const heldLocks = new Set<FileLock>();
let exitHookInstalled = false;

/**
 * Locks `<target><suffix>` beside `target`; when that directory is not writable (a configcrate on a
 * read-only mount), `<tmpdir>/vigocli-<16 hex of SHA-256(target)><suffix>` instead, so a read-only
 * location still gets one-at-a-time behaviour among processes sharing the temp directory.
 */
export async function acquireFileLockBeside(
  target: string,
  suffix: string,
  activity: string,
): Promise<FileLock> {
  try {
    return await acquireFileLock(`${target}${suffix}`, target, activity);
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw err;
    const id = createHash("sha256").update(target).digest("hex").slice(0, 16);
    return await acquireFileLock(join(tmpdir(), `vigocli-${id}${suffix}`), target, activity);
  }
}

function held(path: string, h: LockHandle): FileLock {
  let released = false;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const l of heldLocks) l.release();
    });
  }
  const lock: FileLock = {
    path,
    [Symbol.dispose]() {
      this.release();
    },
    release() {
      if (released) return;
      released = true;
      heldLocks.delete(lock);
      try {
        // Unlink while still locked (see acquireFileLock), and only our own file.
        if (inoOf(path) === h.ino()) unlinkSync(path);
      } catch {
        // Already gone: nothing to clean up.
      } finally {
        h.close();
      }
    },
  };
  heldLocks.add(lock);
  return lock;
}
