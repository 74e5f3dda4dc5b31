/**
 * The commit phase of a restore as a list of renames, each undoable. A step replaces one path of the
 * target: what is there moves to the `.pre-restore-<time>/` directory (`aside`), the staged item is
 * renamed into place (`staged`). Both directions are written so that running them again after a crash
 * at any point between two renames finishes the job, deciding from what exists, never from memory:
 * that is what lets the next command complete the rollback of a restore killed with SIGKILL.
 */
import { chmodSync, lstatSync, mkdirSync, renameSync } from "node:fs";
import process from "node:process";
import { dirname, join } from "node:path";
import { DB_ENTRY_PATH } from "./manifest.ts";
import { DB_COMPANIONS } from "./restore_plan.ts";

/**
 * Mode (before the umask) of the directories a restore creates that the archive does not hold: the
 * target, its missing parents, those of a configured `database.path`. The archive records no mode for
 * them, so they get what `mkdir` gives, minus group and other write: a server running as another user
 * must reach the database (0700 kept it out), and under umask 000 nobody else may swap secrets/ or
 * server.yaml. Everything the archive holds, secrets/ included, gets its archived mode.
 */
export const NEW_DIR_MODE = 0o755;

/** One rename-into-place of the commit phase (absolute paths). */
export interface RestoreStep {
  /** The path in the target that is replaced or created. */
  dest: string;
  /** The staged item moved to `dest`; absent for a companion that is only moved aside (`-wal`). */
  staged?: string;
  /** Where the existing `dest` goes; absent when `dest` does not exist now. */
  aside?: string;
}

/** What {@link restoreSteps} needs to know about the target, gathered by the caller. */
export interface StepFacts {
  target: string;
  staging: string;
  aside: string;
  units: string[];
  dbRel: string;
  exists: (path: string) => boolean;
}

/** The steps that swap `units` from `staging` into `target`. Pure given `exists`. */
export function restoreSteps(f: StepFacts): RestoreStep[] {
  const steps: RestoreStep[] = [];
  const replace = (rel: string, staged?: string, dest = join(f.target, rel)) => {
    if (!staged && !f.exists(dest)) return;
    steps.push({ dest, staged, aside: f.exists(dest) ? join(f.aside, rel) : undefined });
  };
  for (const unit of f.units) {
    if (unit !== DB_ENTRY_PATH) {
      replace(unit, join(f.staging, unit));
      continue;
    }
    for (const c of DB_COMPANIONS) replace(f.dbRel + c);
    if (f.dbRel === DB_ENTRY_PATH && !f.exists(join(f.target, "db"))) {
      // A missing db/ directory arrives whole, with the archived mode and owner.
      replace("db", join(f.staging, "db"));
    } else replace(f.dbRel, join(f.staging, DB_ENTRY_PATH));
  }
  return steps;
}

/**
 * `renameSync(from, to)`, also for a directory of ours without write permission (a restored secrets/ at
 * 0500): moving a directory to another parent rewrites its ".." entry, which needs that permission for
 * anyone but root, so it gets it for the move and its mode back after. A crash in between leaves the
 * directory writable by its owner, nothing more.
 */
function renameAny(from: string, to: string): void {
  try {
    renameSync(from, to);
    return;
  } catch (err) {
    const st = (err as NodeJS.ErrnoException).code === "EACCES" ? lstatSync(from) : undefined;
    if (!st?.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o200) !== 0) throw err;
    chmodSync(from, (st.mode & 0o7777) | 0o200);
    try {
      renameSync(from, to);
    } finally {
      chmodSync(present(to) ? to : from, st.mode & 0o7777);
    }
  }
}

function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Forward: move the existing `dest` aside (once), then the staged item into place (once). */
export function applyStep(s: RestoreStep): void {
  if (s.aside && present(s.dest) && !present(s.aside)) {
    mkdirSync(dirname(s.aside), { recursive: true, mode: 0o700 });
    renameAny(s.dest, s.aside);
  }
  if (s.staged && present(s.staged)) {
    // Only a configured database.path can lack its directories here; the commit gives the database's own
    // directory the archived db/ entry's mode and owner afterwards.
    mkdirSync(dirname(s.dest), { recursive: true, mode: NEW_DIR_MODE });
    renameAny(s.staged, s.dest);
  }
}

/**
 * Why {@link undoStep} will not put a step back: something is where the old item must return. Its
 * message names both paths and what to do.
 */
export class UndoRefused extends Error {}

/**
 * The paths that keep {@link undoStep} from putting `steps` back, all found before anything moves (one
 * refused per run made an operator move them out one at a time): something made again where an old item
 * must return, and SQLite's files beside a database the undo puts back that no step moved there. Those
 * belong to whatever opened the target after the kill (a restarted server writing into the new
 * database): left beside the old one, SQLite replayed that `-wal` onto it, the old rows gone (found by
 * review).
 */
export function undoBlockers(steps: RestoreStep[]): { path: string; replaced?: string }[] {
  const moved = new Set(steps.map((s) => s.dest));
  const blockers: { path: string; replaced?: string }[] = [];
  for (const s of steps) {
    if (s.aside === undefined || !present(s.aside)) continue;
    const newItemGoesBack = s.staged !== undefined && !present(s.staged) && present(s.dest);
    if (present(s.dest) && !newItemGoesBack) blockers.push({ path: s.dest, replaced: s.aside });
    for (const c of DB_COMPANIONS) {
      if (!moved.has(`${s.dest}${c}`) && present(`${s.dest}${c}`)) blockers.push({ path: `${s.dest}${c}` });
    }
  }
  return blockers;
}

/**
 * Backward: the new item back to staging (if it went in), the old one back from aside (if it left).
 * Whether the step began is read from its aside: the old item leaves `dest` before the staged one comes,
 * so with no aside (still) there, what is at `dest` is the old item and stays. Deciding from the staged
 * item alone moved the old item into a staging directory that the rollback then removes (found by review:
 * the staging directory removed by hand after a SIGKILL, the old secrets/, tls/ and server.yaml went
 * with it). Something at `dest` while the old item waits aside and the staged one never came (a server,
 * a replicator or an operator made it after the kill: an empty database, a new -wal, an empty stacks/)
 * is neither: it is refused ({@link UndoRefused}), not overwritten nor moved, the old item kept aside.
 */
export function undoStep(s: RestoreStep): void {
  if (s.aside !== undefined && !present(s.aside)) return;
  if (s.staged && !present(s.staged) && present(s.dest)) {
    mkdirSync(dirname(s.staged), { recursive: true, mode: 0o700 });
    renameAny(s.dest, s.staged);
  }
  if (!s.aside) return;
  if (present(s.dest)) {
    throw new UndoRefused(
      `it was made again after the restore was interrupted, and the item it replaced is kept in ${s.aside}: ` +
        `move ${s.dest} out of the target (or remove it) and run again`,
    );
  }
  renameAny(s.aside, s.dest);
}
