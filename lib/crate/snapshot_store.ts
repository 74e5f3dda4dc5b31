/**
 * The layout of a `target_path`: complete snapshots are directories named `YYYY.JJJ.HH.MM`; a snapshot
 * being built or deleted lives under a name starting with `.incomplete-` and only gets its final name
 * by an atomic rename once complete. So anything with a snapshot name is complete, a crash leaves only
 * dot-names that the next run deletes, and the next run never links against half a tree.
 * `.vigo-snapshot.lock` (`flock`, the owner's pid inside) keeps two runs from building in the same target.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ExistsError, toVigoError } from "../errors.ts";
import { fsyncDirectory } from "../fsutil/atomic_file.ts";
import { acquireFileLock } from "../fsutil/file_lock.ts";
import { removingTree } from "../fsutil/left_temp.ts";
import { madeWritable } from "../fsutil/writable_tree.ts";
import { parseSnapshotName } from "./snapshot_name.ts";

/** Prefix of snapshot directories under construction or deletion. */
export const INCOMPLETE_PREFIX = ".incomplete-";
/** Name of the lock file in a target_path. */
export const LOCK_NAME = ".vigo-snapshot.lock";

/** A complete snapshot directory. */
export interface SnapshotEntry {
  /** `YYYY.JJJ.HH.MM`. */
  name: string;
  /** The time encoded in the name. */
  time: Date;
  /** Absolute path. */
  path: string;
}

/** Complete snapshots under `targetPath`, oldest first; none when the directory does not exist. */
export function listSnapshots(targetPath: string): SnapshotEntry[] {
  let names: string[];
  try {
    names = readdirSync(targetPath, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) =>
      d.name
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw toVigoError(err, targetPath);
  }
  const out: SnapshotEntry[] = [];
  for (const name of names) {
    const time = parseSnapshotName(name);
    if (time) out.push({ name, time, path: join(targetPath, name) });
  }
  return out.sort((a, b) => a.time.getTime() - b.time.getTime());
}

/** Names of leftovers (interrupted builds or deletions) under `targetPath`. */
export function listLeftovers(targetPath: string): string[] {
  try {
    return readdirSync(targetPath).filter((n) => n.startsWith(INCOMPLETE_PREFIX)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw toVigoError(err, targetPath);
  }
}

/** Deletes every leftover; call while holding the lock. Returns the names removed. */
export function removeLeftovers(targetPath: string): string[] {
  const names = listLeftovers(targetPath);
  for (const n of names) removeTree(join(targetPath, n));
  return names;
}

/**
 * Takes the target's lock (creating `targetPath` if needed) and returns its release function, or throws
 * BusyError (exit 5) naming the PID that holds it. The kernel drops a `flock` when its holder dies, so a
 * run killed with SIGKILL never blocks the next one. A PID written in the file proved nothing: after a
 * reboot or a PID wrap an unrelated process with that number kept every later run out, and two runs that
 * both found a dead PID both took the lock over.
 */
export async function acquireLock(targetPath: string): Promise<() => void> {
  try {
    mkdirSync(targetPath, { recursive: true });
  } catch (err) {
    throw toVigoError(err, targetPath);
  }
  const lock = await acquireFileLock(
    join(targetPath, LOCK_NAME),
    targetPath,
    "a crate run into this target_path",
  );
  return () => lock.release();
}

/** Creates the temporary directory a new snapshot named `name` is built in. */
export function beginSnapshot(targetPath: string, name: string): string {
  const final = join(targetPath, name);
  if (readdirSync(targetPath).includes(name)) throw new ExistsError(`${final}: snapshot already exists`);
  const temp = join(targetPath, `${INCOMPLETE_PREFIX}${name}`);
  try {
    mkdirSync(temp);
  } catch (err) {
    throw toVigoError(err, temp);
  }
  return temp;
}

/** Gives a finished temporary directory its final name; returns the final path. */
export function commitSnapshot(targetPath: string, tempPath: string, name: string): string {
  const final = join(targetPath, name);
  try {
    renameSync(tempPath, final);
    fsyncDirectory(targetPath);
  } catch (err) {
    throw toVigoError(err, final);
  }
  return final;
}

/** Deletes a snapshot: renamed out of the snapshot namespace first, so a crash mid-way leaves a leftover. */
export function deleteSnapshot(targetPath: string, name: string): void {
  const doomed = join(targetPath, `${INCOMPLETE_PREFIX}delete-${name}`);
  try {
    renameSync(join(targetPath, name), doomed);
    removeTree(doomed);
  } catch (err) {
    throw toVigoError(err, join(targetPath, name));
  }
}

/**
 * rm -rf that also works without root when a snapshot preserved read-only directories (mode 0555 in
 * the source): on EACCES the directories are made owner-writable and the removal retried.
 */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES" || !madeWritable(path)) throw toVigoError(err, path);
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (again) {
      throw toVigoError(again, path);
    }
  }
}

/**
 * Removes the snapshot directory `temp` of a build that failed with `failure` and returns what to
 * throw: the failure, which stays the error when `temp` cannot be removed and then also says it is
 * left (the next run's {@link removeLeftovers} removes it).
 */
export function removingIncomplete(failure: unknown, temp: string): Promise<unknown> {
  return removingTree(failure, temp, "incomplete snapshot", NEXT_CRATE_RUN);
}

/** Who removes an incomplete snapshot left behind: the next run into that target_path. */
const NEXT_CRATE_RUN = "the next crate run into this target_path";
