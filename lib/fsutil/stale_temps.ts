/**
 * Sweeps temporary files and directories that a killed process left behind. Every temporary name we
 * make carries the maker's PID (`.NAME.tmp-<pid>-<hex>`, `.restore-staging-<pid>-XXXXXX`,
 * `.vigo-backup-<pid>-XXXXXX`, …): a name whose PID is no longer running is garbage, because only that
 * process could have finished or removed it. A name whose PID runs is left alone unless it is older than
 * {@link REUSED_PID_AGE_MS} (the PID was reused by an unrelated process after a reboot or a wrap). A name
 * with this process's own PID is its own only if it made it ({@link noteOwnTemp}).
 * Names from before the PID was recorded are removed once older than the same age.
 *
 * The decision is a pure function ({@link staleTempDecision}); {@link findStaleTemps} (a dry run's list) and
 * {@link sweepStaleTemps} (which removes) are its I/O shell.
 * Limit: PIDs are per PID namespace, so two containers writing one directory must not share it.
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import process from "node:process";
import { madeWritable } from "./writable_tree.ts";

/** A temporary name older than this is stale whatever its PID says. */
export const REUSED_PID_AGE_MS = 7 * 24 * 3600 * 1000;

/** Our temporary names, with the PID in group 1. */
const WITH_PID = [
  /^\..+\.tmp-(\d+)-[0-9a-f]{12}(\.db)?(-journal|-wal|-shm)?$/,
  /^\.restore-staging-(\d+)-[A-Za-z0-9]{6}$/,
  /^\.vigo-(?:backup|verify|download)-(\d+)-[A-Za-z0-9]{6}$/,
  // The same in the system temp directory, where they go when their own directory is read-only.
  /^vigo-(?:backup|verify|download)-(\d+)-[A-Za-z0-9]{6}$/,
  // A drill's scratch restore: in the drills directory, else the system temp directory.
  /^\.scratch-(\d+)-[A-Za-z0-9]{6}$/,
  /^vigo-drill-scratch-(\d+)-[A-Za-z0-9]{6}$/,
];

/** The same names as written before they carried a PID. */
const WITHOUT_PID = [
  /^\..+\.tmp-[0-9a-f]{12}(\.db)?$/,
  /^\.restore-staging-[A-Za-z0-9]{6}$/,
  /^\.vigo-(?:backup|verify|download)-[A-Za-z0-9]{6}$/,
];

/**
 * The temporary names (base names) this process made: the only ones carrying its PID that are its own.
 * A PID alone cannot tell: a process that always runs as the same PID (PID 1 in a container, under
 * `unshare -pf`) found its killed predecessors' staging directories "its own" and kept them for good
 * (found by review).
 */
const madeHere = new Set<string>();

/** Records `name` (a base name with this process's PID) as one this process made ({@link staleTempDecision}). */
export function noteOwnTemp(name: string): void {
  madeHere.add(name);
}

/** Whether this process made `name`, or the database copy whose `-journal`/`-wal`/`-shm` it is. */
function ownTemp(name: string): boolean {
  return madeHere.has(name) || madeHere.has(name.replace(/(\.db)?(-journal|-wal|-shm)?$/, ""));
}

/**
 * {@link pidRunning} for the PID in a local temporary name: this process's own PID counts as running only
 * for the names it made, which {@link staleTempDecision} keeps before asking; another of that PID is dead.
 */
export function tempOwnerRunning(pid: number): boolean {
  return pid !== process.pid && pidRunning(pid);
}

/** What to do with one directory entry. */
export type StaleTempDecision = "remove" | "keep" | "not-ours";

/**
 * Decides about the entry `name`, last modified `ageMs` ago, given whether a PID is running. A name
 * this process made is kept; one with its PID that it did not make is judged as any other by `running`
 * (locally {@link tempOwnerRunning}: dead). Pure but for that record: the caller supplies the clock and the
 * process table.
 */
export function staleTempDecision(
  name: string,
  ageMs: number,
  running: (pid: number) => boolean,
): StaleTempDecision {
  for (const re of WITH_PID) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid && ownTemp(name)) return "keep";
    return !running(pid) || ageMs > REUSED_PID_AGE_MS ? "remove" : "keep";
  }
  if (WITHOUT_PID.some((re) => re.test(name))) return ageMs > REUSED_PID_AGE_MS ? "remove" : "keep";
  return "not-ours";
}

/** Whether a process with this PID exists (EPERM: it does, owned by someone else). */
export function pidRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The stale temporary entries directly inside `dir`, by {@link staleTempDecision}, as paths; what a sweep
 * removes and a dry run lists. A directory that cannot be read (missing, permission) has none.
 */
export function findStaleTemps(dir: string, now = Date.now(), visible = false): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const name of names) {
    if (!name.startsWith(".") && !(visible && name.startsWith("vigo-"))) continue;
    const path = join(dir, name);
    try {
      if (staleTempDecision(name, now - lstatSync(path).mtimeMs, tempOwnerRunning) === "remove") {
        stale.push(path);
      }
    } catch {
      // Removed meanwhile by its owner or another sweeper: nothing to judge.
    }
  }
  return stale;
}

/**
 * Removes the stale temporary entries directly inside `dir` ({@link findStaleTemps}) and returns their
 * paths. Best effort: an entry that cannot be removed is skipped, because the sweep must never be the
 * reason a backup or restore fails.
 */
export function sweepStaleTemps(dir: string, now = Date.now(), visible = false): string[] {
  return findStaleTemps(dir, now, visible).filter((path) => {
    try {
      rmSync(path, { recursive: true, force: true });
      return true;
    } catch (err) {
      // A dead restore's staging tree with a read-only directory (secrets/ at 0500) is removable once
      // its directories are writable again; one not ours to change is left.
      if ((err as NodeJS.ErrnoException).code !== "EACCES" || !madeWritable(path)) return false;
    }
    try {
      rmSync(path, { recursive: true, force: true });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * {@link sweepStaleTemps} of the system temporary directory, for the `vigo-…` names (no leading dot) that
 * verify, create, download and the drill make there when their own directory is read-only (an archive on
 * a read-only stick): the dot-name sweep never saw them, and a killed verify of an encrypted archive left
 * its decrypted database there for good (found by review).
 */
export function sweepSystemTemps(now = Date.now()): string[] {
  return sweepStaleTemps(tmpdir(), now, true);
}
