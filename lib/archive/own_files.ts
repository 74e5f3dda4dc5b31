/**
 * What `create` leaves out of the trees it walks because create itself made it: the archives folder
 * (`paths.snapshots`) and this run's output, its sidecar, lock and temporary names, and the work
 * directory's temporary copies. With `paths.snapshots: stacks/snaps` (or an OUT below stacks/) these
 * lie inside an archived tree: archived, each archive held every earlier one and its own half-written
 * temporary file, and a restore put them back.
 */
import { basename, dirname, join } from "node:path";
import { physicalPath } from "../fsutil/physical_path.ts";

/** Suffix of the lock beside a create's output: `<OUT>.vigo-create.lock` (README, "Reliability"). */
export const CREATE_LOCK_SUFFIX = ".vigo-create.lock";

/** Why a path is left out: a warning to print, or "" to leave it out silently (this run's own files). */
export type OwnFileVerdict = string | undefined;

/** Where this create writes. */
export interface OwnFilePlaces {
  /** `paths.snapshots`. */
  snapshotsDir: string;
  /** The local archive being written, if any. */
  output?: string;
  /** Where interrupted creates' leftovers and rollback-journal copies go. */
  workDir?: string;
  /** Where this run's rollback-journal copy goes when not in `workDir` (beside the database, encrypted). */
  copyDir?: string;
}

/** A test of source paths (as the walk reaches them, links resolved at the top) against `places`. */
export function ownFiles(places: OwnFilePlaces): (sourcePath: string) => OwnFileVerdict {
  const snapshots = physicalPath(places.snapshotsDir);
  const outDir = places.output === undefined ? undefined : physicalPath(dirname(places.output));
  const outName = places.output === undefined ? "" : basename(places.output);
  const outputs = new Set([outName, `${outName}.sha256`, `${outName}${CREATE_LOCK_SUFFIX}`]);
  const workDir = places.workDir === undefined ? undefined : physicalPath(places.workDir);
  const copyDir = places.copyDir === undefined ? undefined : physicalPath(places.copyDir);
  // The walk resolves links only at the top of each tree, so a root reached through a linked parent
  // (/srv → /data/srv) gives source paths no physical path equals: each directory is resolved, once.
  const physicalDirs = new Map<string, string>();
  return (sourcePath) => {
    const listed = dirname(sourcePath);
    let dir = physicalDirs.get(listed);
    if (dir === undefined) physicalDirs.set(listed, dir = physicalPath(listed));
    const name = basename(sourcePath);
    if (join(dir, name) === snapshots) {
      return `${sourcePath}: the archives directory (paths.snapshots); not archived inside itself`;
    }
    if (dir === outDir && (outputs.has(name) || name.startsWith(`.${outName}.tmp-`))) return "";
    if ((dir === workDir || dir === copyDir) && name.startsWith(".vigo-backup-")) return "";
    return undefined;
  };
}
