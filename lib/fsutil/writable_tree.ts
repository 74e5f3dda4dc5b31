/**
 * A temporary tree of our own made removable: a directory in it made read-only (a restore's staged
 * secrets/ at 0500) keeps its entries from anyone but root.
 */
import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Adds the owner's rwx to every directory below and at `path` that lacks it; whether any was changed. */
export function madeWritable(path: string): boolean {
  let changed = false;
  const walk = (dir: string): void => {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    if ((st.mode & 0o700) !== 0o700) {
      try {
        chmodSync(dir, (st.mode & 0o7777) | 0o700);
        changed = true;
      } catch {
        // not ours to change: the removal says what is left
      }
    }
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) walk(join(dir, name));
  };
  walk(path);
  return changed;
}
