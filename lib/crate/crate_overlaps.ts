/**
 * Paths of a crate's resources that would destroy each other's data, refused as configuration errors
 * before anything runs: a source inside (or equal to, or containing) any resource's target_path
 * (retention deletes snapshot-named directories there; snapshotting a tree into itself recurses);
 * two resources sharing a target_path (the second would find "its" snapshot taken and skip); and a
 * target_path nested in another one under a snapshot-like name (the outer retention would delete it).
 * Compared on the absolute paths as written and again with symbolic links resolved (as far as the
 * paths exist): a source_dir reached through a link to a directory that holds the target_path
 * snapshotted itself until ENAMETOOLONG.
 */
import { relative, sep } from "node:path";
import { physicalPath } from "../fsutil/physical_path.ts";
import { ConfigError } from "../errors.ts";
import type { CrateResource } from "./crate_file.ts";
import { parseSnapshotName } from "./snapshot_name.ts";

/** "equal", "inside" (a below b), or undefined when neither contains the other. */
function containment(a: string, b: string): "equal" | "inside" | undefined {
  const rel = relative(b, a);
  if (rel === "") return "equal";
  if (rel !== ".." && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep)) return "inside";
  return undefined;
}

function sourceOf(r: CrateResource): { key: string; path: string } {
  return r.type === "backup"
    ? { key: "source_dir", path: r.sourceDir }
    : { key: "source_db", path: r.sourceDb };
}

/** Throws {@link ConfigError} naming the crate file, both resources and both paths. */
export function checkResourceOverlaps(crate: string, resources: CrateResource[]): void {
  checkPaths(crate, resources, (p) => p, "");
  checkPaths(crate, resources, physicalPath, " (with symbolic links resolved)");
}

/** The checks on the paths as `view` sees them; messages name them as written, with `note`. */
function checkPaths(
  crate: string,
  resources: CrateResource[],
  view: (path: string) => string,
  note: string,
): void {
  const fail = (msg: string): never => {
    // The note goes with the paths, before the advice after ";".
    throw new ConfigError(`${crate}: ${msg.replace(/;|$/, `${note}$&`)}`);
  };
  for (const a of resources) {
    const src = sourceOf(a);
    for (const b of resources) {
      const who = a === b ? `resource "${a.name}"` : `resource "${a.name}" and resource "${b.name}"`;
      const [srcPath, bTarget] = [view(src.path), view(b.targetPath)];
      const srcVsTarget = containment(srcPath, bTarget) ?? (containment(bTarget, srcPath) && "contains");
      if (srcVsTarget) {
        const how = srcVsTarget === "equal" ? "is" : srcVsTarget === "inside" ? "is inside" : "contains";
        fail(
          `${who}: ${src.key} ${src.path} ${how} target_path ${b.targetPath}; keep sources and snapshots apart`,
        );
      }
      if (a === b) continue;
      const aTarget = view(a.targetPath);
      const targets = containment(aTarget, bTarget);
      if (targets === "equal") fail(`${who} share target_path ${a.targetPath}; give each its own`);
      if (targets === "inside") {
        const first = relative(bTarget, aTarget).split(sep)[0];
        if (parseSnapshotName(first)) {
          fail(
            `${who}: target_path ${a.targetPath} lies in ${b.targetPath} under a snapshot name, which its retention would delete`,
          );
        }
      }
    }
  }
}
