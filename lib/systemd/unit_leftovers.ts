/**
 * What a killed install-units leaves in the unit directory: its temporary files, `.NAME.tmp-<pid>-<hex>`
 * (tempPathFor) for NAME one of the units it writes, a unit being staged or the copy of one it replaces.
 * Nothing else there is ours to judge (the directory is systemd's and other packages'), so only those
 * names are looked at, and one goes only once stale by the rule every sweep of ours uses
 * (stale_temps.ts: its PID no longer runs, or it is over a week old; never this process's).
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pidRunning, staleTempDecision } from "../fsutil/stale_temps.ts";

const TEMP_NAME = /^\.(.+)\.tmp-\d+-[0-9a-f]{12}$/;

/** Whether `name` is a temporary name install-units makes for one of `unitNames`. */
export function isUnitTempName(name: string, unitNames: readonly string[]): boolean {
  const m = TEMP_NAME.exec(name);
  return m !== null && unitNames.includes(m[1]);
}

/**
 * Removes (unless `dryRun`) the stale temporary files of `unitNames` in `dir` and returns their paths.
 * Best effort, as every sweep: one that cannot be read or removed is left for the next run, since the
 * install's own writes there say what is wrong with the directory.
 */
export function sweepUnitTemps(
  dir: string,
  unitNames: readonly string[],
  dryRun: boolean,
  now = Date.now(),
): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => isUnitTempName(n, unitNames)).sort()) {
    const path = join(dir, name);
    try {
      // lstat: a kept copy of a unit that is a symbolic link is itself a link, judged and removed as one.
      const st = lstatSync(path);
      if (st.isDirectory() || staleTempDecision(name, now - st.mtimeMs, pidRunning) !== "remove") continue;
      if (!dryRun) rmSync(path);
      removed.push(path);
    } catch {
      // Gone meanwhile, or not removable: left for the next run.
    }
  }
  return removed;
}
