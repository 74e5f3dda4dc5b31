/**
 * `snapshot list`: every snapshot under a target with its time, file count and the bytes unique to it.
 * "Unique" means regular files whose every hardlink lies inside that one snapshot, i.e. what deleting
 * the snapshot would free (directory entries themselves are not counted). Found by walking all
 * snapshots and counting, per inode, in how many snapshots and how many times it appears.
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BadInputError, NotFoundError, toVigoError } from "../errors.ts";
import { listSnapshots } from "./snapshot_store.ts";

/** One row of `snapshot list`. */
export interface SnapshotUsage {
  name: string;
  /** RFC 3339 time encoded in the name. */
  time: string;
  /** Regular files in the snapshot. */
  files: number;
  /** Apparent size of all its regular files. */
  bytes: number;
  /** Bytes of regular files no other snapshot (or other path) links to. */
  uniqueBytes: number;
}

interface InodeUse {
  size: number;
  nlink: number;
  /** Links seen under the target. */
  seen: number;
  /** Index of the first snapshot it appeared in, or -1 once a second snapshot links to it. */
  only: number;
}

/** Usage of every snapshot under `targetPath`, oldest first. */
export function snapshotUsage(targetPath: string): SnapshotUsage[] {
  // Followed, as the executors follow it: a target_path may be a symbolic link to the backup disk.
  const st = statSync(targetPath, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(`${targetPath}: no such snapshot directory`);
  if (!st.isDirectory()) throw new BadInputError(`${targetPath}: not a directory (snapshots live in one)`);
  const snaps = listSnapshots(targetPath);
  const inodes = new Map<string, InodeUse>();
  const rows: SnapshotUsage[] = snaps.map((s) => ({
    name: s.name,
    time: s.time.toISOString().replace(".000Z", "Z"),
    files: 0,
    bytes: 0,
    uniqueBytes: 0,
  }));
  snaps.forEach((s, i) =>
    walk(s.path, (key, size, nlink) => {
      rows[i].files++;
      rows[i].bytes += size;
      const use = inodes.get(key);
      if (!use) inodes.set(key, { size, nlink, seen: 1, only: i });
      else {
        use.seen++;
        if (use.only !== i) use.only = -1;
      }
    })
  );
  for (const use of inodes.values()) {
    if (use.only >= 0 && use.seen === use.nlink) rows[use.only].uniqueBytes += use.size;
  }
  return rows;
}

function walk(dir: string, onFile: (key: string, size: number, nlink: number) => void): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw toVigoError(err, dir);
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(p, onFile);
    else if (st.isFile()) onFile(`${st.dev}:${st.ino}`, st.size, st.nlink);
  }
}
