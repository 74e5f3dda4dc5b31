/**
 * Pre-flight checks of the target filesystem: free space and whether source and target are on the
 * same filesystem. Both look at the nearest existing ancestor of a path, since the target directory
 * may not exist before the first run.
 */
import { lstatSync, statfsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { toVigoError } from "../errors.ts";

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!lstatSync(p, { throwIfNoEntry: false })) {
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  return p;
}

/** Bytes available to an unprivileged writer on the filesystem holding `path`. */
export function freeBytes(path: string): number {
  const at = nearestExisting(path);
  try {
    const s = statfsSync(at);
    return Number(s.bavail) * Number(s.bsize);
  } catch (err) {
    throw toVigoError(err, at);
  }
}

/** Device id of the filesystem holding `path` (following symlinks, like the copy does). */
function deviceOf(path: string): number {
  const at = nearestExisting(path);
  try {
    return statSync(at).dev;
  } catch (err) {
    throw toVigoError(err, at);
  }
}

/** True when `a` and `b` live on different filesystems. */
export function onDifferentFilesystems(a: string, b: string): boolean {
  return deviceOf(a) !== deviceOf(b);
}
