/**
 * The all-or-nothing step of a restore (lib/archive/restore.ts): the staged items renamed into the target
 * under a journal (restore_journal.ts), undone on any failure, and the line of a restore that completed
 * and could not remove its journal.
 */
import { lstat } from "node:fs/promises";
import { chmodSync, chownSync, existsSync, lstatSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { IoError, toVigoError } from "../errors.ts";
import { fsyncDirectory } from "../fsutil/atomic_file.ts";
import { leftNote } from "../fsutil/left_temp.ts";
import { physicalPath } from "../fsutil/physical_path.ts";
import { DB_ENTRY_PATH } from "./manifest.ts";
import { preRestoreDirName } from "./archive_names.ts";
import { applyStep, restoreSteps } from "./restore_steps.ts";
import {
  JOURNAL_FORMAT,
  JOURNAL_VERSION,
  type JournalLeft,
  journalNote,
  type RestoreJournal,
  rollBack,
  settleJournal,
  writeJournal,
} from "./restore_journal.ts";

/**
 * The one line of a restore that completed and could not remove its journal (and perhaps its staging
 * directory): exit 11 like any completed command whose cleanup failed, naming what is left.
 */
export function completedWithJournal(
  target: string,
  journal: string,
  left: JournalLeft,
  staging: string,
  stagingProblem: string | undefined,
): IoError {
  const notes = [journalNote(journal, left, target)];
  if (stagingProblem !== undefined) {
    notes.push(leftNote("staging directory", staging, stagingProblem, `the next restore into ${target}`));
  }
  return new IoError(`${target}: the restore is complete; ${notes.join("; ")}`, { path: journal });
}

/**
 * Moves replaced items aside and renames the staged ones into place, all or nothing: the renames are
 * journaled first (restore_journal.ts), and any failure undoes the ones made. Returns the aside
 * directory, and the journal when it could not be removed: the restore is done all the same. When even
 * the undo fails, the journal stays and the error says so (`journalKept`), so the caller keeps the
 * staging directory the next run needs to finish the rollback.
 */
export async function commit(
  target: string,
  staging: string,
  units: string[],
  dbRel: string,
  now: Date,
): Promise<{ preRestoreDir?: string; journal?: { path: string; left: JournalLeft } }> {
  // The journal names the target by its physical path, as the restore lock does: a restore through a
  // symbolic link (/srv/vigo -> /data/vigo) killed mid-commit is then rolled back by a restore or create
  // through the link, the directory or another link (it was refused as "written for another target").
  const root = physicalPath(target);
  staging = join(root, basename(staging));
  let aside = join(root, preRestoreDirName(now));
  for (let n = 2; await lstat(aside).catch(() => null); n++) {
    aside = join(root, `${preRestoreDirName(now)}-${n}`);
  }
  const steps = restoreSteps({
    target: root,
    staging,
    aside,
    units,
    dbRel,
    exists: (p) => existsSync(p) || isLink(p),
  });
  const journal: RestoreJournal = {
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    pid: process.pid,
    started_at: now.toISOString(),
    target: root,
    staging,
    aside,
    steps,
  };
  const journalFile = await writeJournal(journal);
  // A configured database.path whose directory the target lacks: made by the step that puts the database
  // there, then given the archived db/ directory's mode and owner (it was root's, 0755, and a server
  // running as its own user could not write its -wal beside the database; found by review).
  const dbDir = dirname(join(target, dbRel));
  const madeDbDir = units.includes(DB_ENTRY_PATH) && dbRel !== DB_ENTRY_PATH && !existsSync(dbDir);
  try {
    for (const s of steps) {
      try {
        applyStep(s);
      } catch (err) {
        throw toVigoError(err, s.dest);
      }
    }
    if (madeDbDir) copyDirectoryOwnership(join(staging, "db"), dbDir);
    fsyncDirectory(target);
    if (units.includes(DB_ENTRY_PATH)) fsyncDirectory(dirname(join(target, dbRel)));
  } catch (err) {
    const cause = toVigoError(err, target);
    let notes: string[];
    try {
      // The caller removes the staging directory (or the target it created), naming it if it cannot.
      notes = rollBack(journal, journalFile, false);
    } catch (undoErr) {
      // Named first, and carried as its path: what the operator must see to is the half-restored
      // target's path, not the failure that started the undo.
      const undo = toVigoError(undoErr);
      throw Object.assign(
        new IoError(
          `${undo.message}, undoing a restore that failed (${cause.message}): ${journalFile} is kept ` +
            "and the next restore or create rolls it back",
          { cause: err, path: undo instanceof IoError ? undo.path : undefined },
        ),
        { journalKept: true },
      );
    }
    // The same error, told that nothing changed: its class, exit code and path (a drill tells its own
    // scratch disk's failure from the backup's by an IoError's path) stay what the failure was.
    cause.message = [`${cause.message}; nothing was restored (the target was rolled back)`, ...notes].join(
      "; ",
    );
    throw cause;
  }
  const left = settleJournal(journal, journalFile);
  return {
    preRestoreDir: steps.some((s) => s.aside) ? join(target, basename(aside)) : undefined,
    journal: left && { path: journalFile, left },
  };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Gives `dir` the mode and (as root) the owner of the staged directory `from`, if that is there. */
function copyDirectoryOwnership(from: string, dir: string): void {
  const st = lstatSync(from, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  if (process.getuid?.() === 0) chownSync(dir, st.uid, st.gid);
  chmodSync(dir, st.mode & 0o7777);
}
