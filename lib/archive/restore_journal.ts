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
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import process from "node:process";
import { BadInputError, BusyError, IoError, toVigoError } from "../errors.ts";
import { createAtomicFile, fsyncDirectory } from "../fsutil/atomic_file.ts";
import { pidRunning } from "../fsutil/stale_temps.ts";
import { type RestoreStep, undoStep } from "./restore_steps.ts";

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

/** Removes a journal durably: once gone, the target is entirely new or entirely old. */
export function removeJournal(path: string): void {
  rmSync(path, { force: true });
  fsyncDirectory(dirname(path));
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
  if (j.target !== target) throw bad("written for another target");
  if (!inside(j.staging, target) || !basename(j.staging).startsWith(".restore-staging-")) {
    throw bad("staging directory outside the target");
  }
  if (!inside(j.aside, target) || !basename(j.aside).startsWith(".pre-restore-")) {
    throw bad("pre-restore directory outside the target");
  }
  if (dirname(j.staging) !== target || dirname(j.aside) !== target) {
    throw bad("directories not in the target");
  }
  if (!Array.isArray(j.steps)) throw bad("no steps");
  for (const s of j.steps) {
    const ok = typeof s === "object" && s !== null && typeof s.dest === "string" && inside(s.dest, target) &&
      !inside(s.dest, j.staging) && !inside(s.dest, j.aside) && s.dest !== j.staging && s.dest !== j.aside &&
      (s.staged === undefined || (typeof s.staged === "string" && inside(s.staged, j.staging))) &&
      (s.aside === undefined || (typeof s.aside === "string" && inside(s.aside, j.aside)));
    if (!ok) throw bad("a step names a path outside its place");
  }
  return j;
}

/**
 * Undoes every step, last first, then removes the staging and pre-restore directories and the journal.
 * A step that cannot be undone throws an IoError whose path is the target's path it could not put back.
 */
export function rollBack(j: RestoreJournal, journal: string): void {
  for (const s of [...j.steps].reverse()) {
    try {
      undoStep(s);
    } catch (err) {
      throw notPutBack(s.dest, err);
    }
  }
  // Everything moved back: the pre-restore directory was made by this restore and now holds only
  // the empty directories its renames needed.
  rmSync(j.aside, { recursive: true, force: true });
  rmSync(j.staging, { recursive: true, force: true });
  removeJournal(journal);
}

/**
 * The error of a rollback that could not put `dest` back as it was: exit 11 whatever the errno (the
 * target is half restored, not missing or malformed), naming `dest`, which IoError.path carries.
 */
function notPutBack(dest: string, err: unknown): IoError {
  // toVigoError words the errno and, given a path, prefixes it: the problem alone is what follows.
  const problem = toVigoError(err, dest).message.slice(`${dest}: `.length);
  return new IoError(`${dest}: could not be put back (${problem})`, { cause: err, path: dest });
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
 * Finishes what a killed restore left in `target`: for each journal of a dead process, rolls the
 * target back to its state before that restore. A journal of a running process means a restore is
 * committing right now: BusyError (exit 5) naming its PID. Returns the journals handled.
 */
export function recoverInterruptedRestore(target: string): string[] {
  const done: string[] = [];
  for (const path of interruptedJournals(target)) {
    const name = basename(path);
    const pid = Number(NAME_RE.exec(name)![1]);
    if (pid !== process.pid && pidRunning(pid)) {
      throw new BusyError(
        `${target}: a restore (PID ${pid}) is replacing files in it; wait for it to finish`,
      );
    }
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw toVigoError(err, path);
    }
    const j = parseJournal(text, path, target);
    try {
      rollBack(j, path);
    } catch (err) {
      const e = toVigoError(err);
      throw new IoError(
        `${e.message}, rolling back an interrupted restore: ${path} is kept and the next run tries again`,
        { cause: err, path: e instanceof IoError ? e.path : undefined },
      );
    }
    done.push(path);
  }
  return done;
}
