/**
 * A path as the kernel reaches it: symbolic links resolved in its longest existing prefix, the rest
 * (not created yet) as written. Two spellings of one place (a link and its target, or a link to a
 * parent) then compare equal, and a file kept beside another goes beside the real one.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function physicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(physicalPath(parent), basename(path));
  }
}
