/**
 * The top-level parts of the server tree create archives (stacks/, secrets/, tls/, server.yaml, the
 * database) are followed when they are symbolic links, so a deployment that keeps secrets/ on another
 * volume still gets a complete archive; the manifest records each followed link. And an archive
 * without secrets/.master.key (everything under secrets/ is sealed with it) is refused unless asked for.
 */
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { NotFoundError, toVigoError } from "../errors.ts";
import type { SourceEntry } from "./source_tree.ts";

/** Archive path of the master key. */
export const MASTER_KEY_ENTRY = "secrets/.master.key";

/** Where a top-level path really is, and the link that led there (when it is a link). */
export interface TopLevelSource {
  /** Path to walk (the link's resolved target when `path` is a link). */
  real: string;
  /** The link's own target, verbatim, when `path` is a symbolic link. */
  link?: string;
}

/** Resolves a top-level path, or returns undefined when nothing is there (or a link dangles). */
export function topLevelSource(path: string): TopLevelSource | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw toVigoError(err, path);
  }
  if (!st.isSymbolicLink()) return { real: path };
  try {
    return { real: realpathSync(path), link: readlinkSync(path) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw toVigoError(err, path);
  }
}

/**
 * The (device, inode) of each path, as `lstat` sees it ("absent" when nothing is there). A restore
 * replaces the database and every top-level tree by rename, so a change here between the start and the
 * end of a create means the archive could hold the database of one state and trees of the other.
 */
export function pathIdentities(paths: string[]): string[] {
  return paths.map((p) => {
    try {
      const st = lstatSync(p);
      return `${st.dev}:${st.ino}`;
    } catch {
      return "absent";
    }
  });
}

/** Those of `paths` whose identity is no longer the one in `before` (from {@link pathIdentities}). */
export function replacedPaths(paths: string[], before: string[]): string[] {
  const now = pathIdentities(paths);
  return paths.filter((_, i) => now[i] !== before[i]);
}

/** Refuses (exit 9) a walk that did not find the master key as a regular file, unless allowed. */
export function requireMasterKey(entries: SourceEntry[], serverRoot: string, allowMissing: boolean): void {
  if (allowMissing) return;
  if (entries.some((e) => e.archivePath === MASTER_KEY_ENTRY && e.type === "file")) return;
  throw new NotFoundError(
    `${serverRoot}/${MASTER_KEY_ENTRY}: not found as a regular file; an archive without it cannot open ` +
      "the secrets it holds (pass --allow-missing-master-key to create one anyway)",
  );
}
