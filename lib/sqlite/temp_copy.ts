/**
 * The private copy a rollback-journal database is read from (lib/sqlite/pinned_database.ts): where it is
 * made, and what its removal leaves when it fails, for the failure's line to name.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { leftNote, removalProblem } from "../fsutil/left_temp.ts";

/** A temporary file for the copy of a rollback-journal database. */
export interface TempCopy {
  path: string;
  /** The directory removed with it, which is what is left when it cannot be. */
  dir: string;
  /** Who removes it then ("the next run's sweep"). */
  sweep: string;
  /** Removes the directory; throws when it cannot. */
  remove(): void;
}

/** A copy that could not be removed: its directory, why, and who removes it. */
export interface LeftCopy {
  path: string;
  problem: string;
  sweep: string;
}

/** Removes `copy`; what is left, and why, when it cannot. */
export function removeCopy(copy: TempCopy): LeftCopy | undefined {
  try {
    copy.remove();
    return undefined;
  } catch (err) {
    return { path: copy.dir, problem: removalProblem(err, copy.dir), sweep: copy.sweep };
  }
}

/** What a failure's line adds about a copy it could not remove. */
export function copyNote(left: LeftCopy): string {
  return leftNote("copy of the database", left.path, left.problem, left.sweep);
}

/** The copy's place when the caller names none: a directory of its own in the system's temporary one. */
export function defaultTempCopy(): TempCopy {
  const dir = mkdtempSync(join(tmpdir(), "vigo-pin-"));
  // No sweep looks in the system's temporary directory.
  return {
    path: join(dir, "copy.db"),
    dir,
    sweep: "removal by hand",
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
