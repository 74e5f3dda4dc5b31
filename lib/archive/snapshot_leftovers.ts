/**
 * What killed runs leave in paths.snapshots beside the archives, which only a later run in that very
 * directory would otherwise remove: a prune killed between an archive and its sidecar left the sidecar; a
 * create killed outright left its lock file (named by its output, so no create of another name locks it
 * again) and its temporary files. The lock and temporary-file sweeps are the ones create runs, so a file a
 * live process holds or writes stays (lock held, or PID running: stale_temps.ts). A dry run finds the
 * same files by the same decisions and removes none of them.
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { toVigoError } from "../errors.ts";
import { removeStaleLocks } from "../fsutil/file_lock.ts";
import { findStaleTemps, sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { CREATE_LOCK_SUFFIX } from "./own_files.ts";

/** A file of a killed run that a prune removes (or in a dry run would) beside the archives. */
export interface Leftover {
  /** Its name in the directory. */
  name: string;
  /** Why it is a leftover. */
  reason: string;
}

/** Why a sidecar is a leftover, locally and on a backend. */
export const ORPHAN_SIDECAR = "sidecar whose archive is gone";

/** A create renames its sidecar in just before its archive: that moment must not be taken for a lone one. */
export const ORPHAN_SIDECAR_AGE_MS = 60_000;

/**
 * Whether the entry `name` of a directory holding `names` is a sidecar whose archive is gone: a regular
 * file `NAME.tar.gz.sha256`, last modified `ageMs` ago, without `NAME.tar.gz` beside it.
 */
export function isOrphanSidecar(
  name: string,
  names: ReadonlySet<string>,
  isFile: boolean,
  ageMs: number,
): boolean {
  return name.endsWith(".tar.gz.sha256") && !names.has(name.slice(0, -".sha256".length)) && isFile &&
    ageMs >= ORPHAN_SIDECAR_AGE_MS;
}

/**
 * Removes what killed runs left in `dir` (unless `dryRun`) and returns it: lone sidecars, create lock
 * files nobody holds, stale temporary files. A dry run still locks each lock file for a moment, as that is
 * the only way to learn that nobody holds it.
 */
export async function sweepSnapshotLeftovers(dir: string, dryRun: boolean): Promise<Leftover[]> {
  const named = (reason: string) => (path: string) => ({ name: basename(path), reason });
  const sidecars = orphanSidecars(dir, dryRun).map(named(ORPHAN_SIDECAR));
  const locks = (await removeStaleLocks(dir, CREATE_LOCK_SUFFIX, dryRun)).map(
    named("lock file of a killed create"),
  );
  const temps = (dryRun ? findStaleTemps(dir) : sweepStaleTemps(dir)).map(
    named("temporary file of a killed run"),
  );
  return [...sidecars, ...locks, ...temps];
}

/** Removes (unless `dryRun`) the lone sidecars in `dir` and returns their paths. */
function orphanSidecars(dir: string, dryRun: boolean): string[] {
  const now = Date.now();
  let names: Set<string>;
  try {
    names = new Set(readdirSync(dir));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const n of names) {
    const path = join(dir, n);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (!isOrphanSidecar(n, names, st.isFile(), now - st.mtimeMs)) continue;
    if (!dryRun) {
      try {
        rmSync(path, { force: true });
      } catch (err) {
        throw toVigoError(err, path);
      }
    }
    found.push(path);
  }
  return found;
}
