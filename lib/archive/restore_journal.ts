/**
 * The restore journal: `<target>/.restore-journal-<pid>.json`, written (atomically) before the first
 * rename of a restore's commit phase and removed after the last one, or after a rollback. While it
 * exists the target may be half old, half new; the journal lists every rename (restore_steps.ts), so
 * whoever finds it can put the old tree back. Format and vectors: docs/archive-format.md, "Restore
 * journal".
 *
 * An interrupted restore is rolled back, not completed: it never reported success, so the state the
 * operator knows is the old one, and re-running the restore is always possible.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import process from "node:process";
import { BadInputError, BusyError, IoError, toVigoError } from "../errors.ts";
import { createAtomicFile, fsyncDirectory } from "../fsutil/atomic_file.ts";
import { leftNote, removalProblem, removeTemporary } from "../fsutil/left_temp.ts";
import { pidRunning } from "../fsutil/stale_temps.ts";
import { acquireFileLockBeside, type FileLock } from "../fsutil/file_lock.ts";
import { physicalPath } from "../fsutil/physical_path.ts";
import { readSmallRegularFile } from "../fsutil/regular_file.ts";
import { type RestoreStep, undoBlockers, UndoRefused, undoStep } from "./restore_steps.ts";

/** The lock beside the target (`/srv/vigo.vigo-restore.lock`) that makes restores into it take turns. */
export const RESTORE_LOCK_SUFFIX = ".vigo-restore.lock";

/** What a restore's lock says it does (its BusyError: "… already running as PID n"). */
export const RESTORE_LOCK_ACTIVITY = "a restore into this directory (or a rollback of an interrupted one)";

/** Where the restore lock of `target` is, unless its directory refuses it (acquireFileLockBeside). */
function restoreLockPath(target: string): string {
  return `${physicalPath(target)}${RESTORE_LOCK_SUFFIX}`;
}

/** The `format` field of a journal. */
export const JOURNAL_FORMAT = "vigocli-restore-journal";
/** The `version` field this code writes and reads. */
export const JOURNAL_VERSION = 1;

const NAME_RE = /^\.restore-journal-(\d+)\.json$/;

/** A parsed journal. */
export interface RestoreJournal {
  format: typeof JOURNAL_FORMAT;
  version: typeof JOURNAL_VERSION;
  pid: number;
  started_at: string;
  target: string;
  staging: string;
  aside: string;
  steps: RestoreStep[];
  /** Every step applied or every step undone, the journal not removable: nothing left to undo. */
  settled?: true;
}

/** The journal path of process `pid` in `target`. */
export function journalPath(target: string, pid = process.pid): string {
  return join(target, `.restore-journal-${pid}.json`);
}

/** Writes the journal durably (temp name, fsync, rename, fsync directory) before any rename. */
export async function writeJournal(j: RestoreJournal): Promise<string> {
  const path = journalPath(j.target, j.pid);
  const file = await createAtomicFile(path, 0o600);
  try {
    const w = file.writable().getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(j, null, 2) + "\n"));
    await file.commit();
  } catch (err) {
    throw await file.abortKeeping(toVigoError(err, path));
  }
  return path;
}

/** Why a journal could not be removed, and why it could not be marked settled either. */
export interface JournalLeft {
  problem: string;
  unmarked?: string;
  /** Removed, but its directory's fsync failed (`problem`): a crash may bring it back. */
  undurable?: true;
}

/**
 * Removes the journal of a restore whose steps are now all applied or all undone, durably: once gone, the
 * target is entirely new or entirely old. One that cannot be removed (its directory not writable) is
 * written over in place as settled, so that the next restore or create removes it instead of rolling
 * back a restore that completed. Returns undefined once removed.
 */
export function settleJournal(j: RestoreJournal, path: string): JournalLeft | undefined {
  try {
    rmSync(path, { force: true });
  } catch (err) {
    const problem = removalProblem(err, path);
    try {
      markSettled(j, path);
      return { problem };
    } catch (markErr) {
      return { problem, unmarked: removalProblem(markErr, path) };
    }
  }
  try {
    fsyncDirectory(dirname(path));
  } catch (err) {
    // Thrown, it would read as the restore's failure, and restore removes a target it created then.
    return { problem: removalProblem(err, dirname(path)), undurable: true };
  }
  return undefined;
}

/**
 * Writes the journal at `path` over in place (the directory may refuse a new name) as settled, its steps
 * emptied so that a reader older than `settled` undoes nothing. A crash part-way leaves the old text
 * (rolled back, as a restore killed before removing its journal is) or text that is not JSON (refused).
 */
function markSettled(j: RestoreJournal, path: string): void {
  const bytes = new TextEncoder().encode(JSON.stringify({ ...j, steps: [], settled: true }, null, 2) + "\n");
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What a journal that could not be removed (`left`) adds to a line: where it is and who removes it. */
export function journalNote(path: string, left: JournalLeft, target: string): string {
  if (left.undurable) {
    return `its journal ${path} was removed, but its directory could not be synced (${left.problem}): ` +
      `should the journal come back after a crash, the next restore or create of ${target} rolls its ` +
      "steps back (remove it by hand then)";
  }
  if (left.unmarked === undefined) {
    return leftNote(
      "journal",
      path,
      left.problem,
      `the next restore or create of ${target} (marked settled)`,
    );
  }
  return `its journal ${path} could not be removed (${left.problem}) nor marked settled (${left.unmarked}); ` +
    `remove it by hand before the next restore or create of ${target}, which would roll its steps back`;
}

const inside = (child: string, parent: string) =>
  isAbsolute(child) && normalize(child) === child && child.startsWith(`${parent}/`);

/**
 * Parses and checks a journal found at `path` in `target`. Every path must lie where a restore of
 * this target puts it (staging and aside directories directly in the target, steps below them), so a
 * planted journal cannot make a rollback move files anywhere else. Throws BadInputError (exit 4).
 */
export function parseJournal(text: string, path: string, target: string): RestoreJournal {
  const bad = (why: string) =>
    new BadInputError(`${path}: not a valid restore journal (${why}); inspect and remove it by hand`);
  let j: RestoreJournal;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad("not JSON");
  }
  if (typeof j !== "object" || j === null) throw bad("not an object");
  if (j.format !== JOURNAL_FORMAT || j.version !== JOURNAL_VERSION) throw bad("unknown format or version");
  const m = NAME_RE.exec(basename(path));
  if (!Number.isSafeInteger(j.pid) || !m || Number(m[1]) !== j.pid) throw bad("pid does not match its name");
  // Every path must lie in the target the journal names: written with its physical path, which is not this
  // one's when the directory was reached another way since (a bind mount, a container's volume, `mv`).
  const root = j.target;
  if (typeof root !== "string" || !isAbsolute(root) || normalize(root) !== root) {
    throw bad("target not absolute");
  }
  if (!inside(j.staging, root) || !basename(j.staging).startsWith(".restore-staging-")) {
    throw bad("staging directory outside the target");
  }
  if (!inside(j.aside, root) || !basename(j.aside).startsWith(".pre-restore-")) {
    throw bad("pre-restore directory outside the target");
  }
  if (dirname(j.staging) !== root || dirname(j.aside) !== root) {
    throw bad("directories not in the target");
  }
  if (!Array.isArray(j.steps)) throw bad("no steps");
  if (j.settled !== undefined && j.settled !== true) throw bad("settled is not true");
  for (const s of j.steps) {
    const ok = typeof s === "object" && s !== null && typeof s.dest === "string" && inside(s.dest, root) &&
      !inside(s.dest, j.staging) && !inside(s.dest, j.aside) && s.dest !== j.staging && s.dest !== j.aside &&
      (s.staged === undefined || (typeof s.staged === "string" && inside(s.staged, j.staging))) &&
      (s.aside === undefined || (typeof s.aside === "string" && inside(s.aside, j.aside)));
    if (!ok) throw bad("a step names a path outside its place");
  }
  return root === target || root === physicalPath(target) ? j : rebased(j, target);
}

/**
 * `j`, found in `target` but written for the same directory under another path: its paths moved to
 * `target`. The journal lies in the directory it describes, so that is where they are; refused as
 * "written for another target", a restore killed before the directory was reached another way could not
 * be rolled back, the target left half restored (found by review).
 */
function rebased(j: RestoreJournal, target: string): RestoreJournal {
  const move = (p: string) => target + p.slice(j.target.length);
  const steps = j.steps.map((s) => ({
    dest: move(s.dest),
    ...(s.staged === undefined ? {} : { staged: move(s.staged) }),
    ...(s.aside === undefined ? {} : { aside: move(s.aside) }),
  }));
  return { ...j, target, staging: move(j.staging), aside: move(j.aside), steps };
}

/**
 * Undoes every step, last first, then removes the pre-restore directory, (with `removeStaging`) the
 * staging directory and last the journal. A step that cannot be undone throws an IoError whose path is the
 * target's path it could not put back. Every step undone, what could not be removed is not a failure of
 * the rollback: it is returned, one note each (left_temp.ts's words).
 */
export function rollBack(j: RestoreJournal, journal: string, removeStaging = true): string[] {
  const blockers = undoBlockers(j.steps);
  if (blockers.length > 0) {
    const named = blockers.map((b) =>
      b.replaced ? `${b.path} (the item it replaced is kept in ${b.replaced})` : b.path
    );
    throw new IoError(
      `${named.join(", ")}: made after the restore was interrupted (a server started on the half-restored ` +
        `target?), where old items must return: move ${blockers.map((b) => b.path).join(", ")} out of the ` +
        "target and run again",
      { path: blockers[0].path },
    );
  }
  for (const s of [...j.steps].reverse()) {
    try {
      undoStep(s);
    } catch (err) {
      throw notPutBack(s.dest, err);
    }
  }
  // Everything moved back: the pre-restore directory was made by this restore and now holds only
  // the empty directories its renames needed. No sweep looks for one. Only those go: an item still in it
  // is an old one not moved back, kept and named (before, rm -rf took it with the rest).
  const aside = removeEmptyTree(j.aside);
  const staging = removeStaging ? removeTreeNow(j.staging) : undefined;
  // The journal last, so that a crash in between leaves it (rolled back again: every step finds itself
  // undone) or nothing; removed first, a crash left an empty pre-restore directory that read as a kept
  // copy and that nothing removes (found by review).
  const left = settleJournal(j, journal);
  if (left?.unmarked !== undefined) {
    throw new IoError(
      `${journal}: could not be removed (${left.problem}) nor marked settled (${left.unmarked}) once every step ` +
        "was undone",
      { path: journal },
    );
  }
  const notes = left ? [journalNote(journal, left, j.target)] : [];
  if (aside !== undefined) notes.push(leftNote("pre-restore directory", j.aside, aside, "removal by hand"));
  if (staging !== undefined) {
    notes.push(leftNote("staging directory", j.staging, staging, `the next restore into ${j.target}`));
  }
  return notes;
}

function removeTreeNow(path: string): string | undefined {
  try {
    rmSync(path, { recursive: true, force: true });
    return undefined;
  } catch (err) {
    return removalProblem(err, path);
  }
}

/**
 * Removes the directory `path` if it holds nothing but directories (missing is removed): what a rollback
 * left in its pre-restore directory. Else the problem, naming the first thing still in it.
 */
function removeEmptyTree(path: string): string | undefined {
  const held = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const inner = e.isDirectory() ? held(p) : `it still holds ${p}, not moved back`;
      if (inner !== undefined) return inner;
    }
    return undefined;
  };
  try {
    const item = held(path);
    if (item !== undefined) return item;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return removalProblem(err, path);
  }
  return removeTreeNow(path);
}

/**
 * The error of a rollback that could not put `dest` back as it was: exit 11 whatever the errno (the
 * target is half restored, not missing or malformed), naming `dest`, which IoError.path carries.
 */
function notPutBack(dest: string, err: unknown): IoError {
  if (err instanceof UndoRefused) {
    return new IoError(`${dest}: not put back (${err.message})`, { path: dest });
  }
  // toVigoError words the errno and, given a path, prefixes it: the problem alone is what follows.
  const problem = toVigoError(err, dest).message.slice(`${dest}: `.length);
  return new IoError(`${dest}: could not be put back (${problem})`, { cause: err, path: dest });
}

/** Bytes a journal may have: it names the few top-level items a restore renames. */
const JOURNAL_MAX = 1024 * 1024;

/** A journal's text; one that is not a regular file or too large is refused as one that does not parse. */
function readJournal(path: string): string {
  const unusable = (message: string) => new BadInputError(`${message}; inspect and remove it by hand`);
  return new TextDecoder().decode(readSmallRegularFile(path, "restore journal", JOURNAL_MAX, unusable));
}

/** The journals in `target` (of running or dead restores), without touching them. */
export function interruptedJournals(target: string): string[] {
  try {
    return readdirSync(target).filter((n) => NAME_RE.test(n)).sort().map((n) => join(target, n));
  } catch {
    return [];
  }
}

/**
 * The journals in `target` the next restore or create rolls back: a settled one it only removes, and one
 * it cannot read or parse it refuses (so it is listed: that run will not start from a clean target).
 */
export function pendingJournals(target: string): string[] {
  return interruptedJournals(target).filter((path) => {
    try {
      return !parseJournal(readJournal(path), path, target).settled;
    } catch {
      return true;
    }
  });
}

/**
 * Finishes what a killed restore left in `target`: for each journal of a dead process, rolls the
 * target back to its state before that restore. A journal of a running process means a restore is
 * committing right now: BusyError (exit 5) naming its PID. Returns the journals handled.
 *
 * With `lock`, the caller holds the target's restore lock, which every restore holds from before it
 * writes its journal until it has removed it: every journal found is then a dead restore's, whatever
 * process now has its PID (one reused after a reboot made every restore and create exit 5 for good; found
 * by review). Without it, or with one taken in the temporary directory (the target's own directory
 * refused it), a running PID is taken for the restore.
 */
export function recoverInterruptedRestore(target: string, lock?: FileLock): string[] {
  const done: string[] = [];
  const locked = lock !== undefined && lock.path === restoreLockPath(target);
  for (const path of interruptedJournals(target)) {
    const name = basename(path);
    const pid = Number(NAME_RE.exec(name)![1]);
    if (!locked && pid !== process.pid && pidRunning(pid)) {
      throw new BusyError(
        `${target}: a restore (PID ${pid}) is replacing files in it; wait for it to finish`,
      );
    }
    const j = parseJournal(readJournal(path), path, target);
    if (j.settled) {
      // Nothing to undo; one that still cannot be removed is harmless, and tried again next time.
      removeTemporary(path);
      done.push(path);
      continue;
    }
    let notes: string[];
    try {
      notes = rollBack(j, path);
    } catch (err) {
      const e = toVigoError(err);
      throw new IoError(
        `${e.message}, rolling back an interrupted restore: ${path} is kept and the next run tries again`,
        { cause: err, path: e instanceof IoError ? e.path : undefined },
      );
    }
    if (notes.length > 0) {
      // The target is as it was before that restore; this command's own work has not started.
      throw new IoError(`${path}: the interrupted restore was rolled back; ${notes.join("; ")}`, { path });
    }
    done.push(path);
  }
  return done;
}

/**
 * {@link recoverInterruptedRestore} for a command that does not hold the restore lock (`backup create`):
 * when the target has a journal, it takes the lock for the rollback, so that a restore running (holding
 * it) is told from a dead one whose PID another process has now: BusyError (exit 5) only for the first.
 */
export async function recoverInterruptedRestoreLocking(target: string): Promise<string[]> {
  if (interruptedJournals(target).length === 0) return [];
  using lock = await acquireFileLockBeside(physicalPath(target), RESTORE_LOCK_SUFFIX, RESTORE_LOCK_ACTIVITY);
  return recoverInterruptedRestore(target, lock);
}
