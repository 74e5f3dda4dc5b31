/**
 * Writes the units of {@link renderUnits} into a unit directory. Every file is checked before any is
 * written, so a refusal leaves the directory exactly as it was; every unit (and a copy of each it
 * replaces) is written and fsynced under a temporary name before the first is renamed into place, so
 * a failed write or rename leaves it as it was too, and systemd never reads half a unit. An interruption
 * (SIGINT, SIGTERM: see runInterruptible) ends it the same way: while units are staged, with nothing
 * changed and the temporary files removed; once the renames have begun, only after the last one.
 */
import { renameSync, rmSync } from "node:fs";
import { lstat, readFile, readlink, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { ExistsError, IoError, toVigoError, UsageError, VigoError } from "../errors.ts";
import { removalProblem } from "../fsutil/left_temp.ts";
import {
  type AtomicFile,
  createAtomicFile,
  fsyncDirectory,
  removingTemp,
  requireDestinationFolder,
  tempPathFor,
} from "../fsutil/atomic_file.ts";
import { acquireFileLockBeside } from "../fsutil/file_lock.ts";
import { SETTLE_MS, type StoppedOutcome } from "../archive/interrupt_cleanup.ts";
import type { UnitFile } from "./unit_templates.ts";
import { sweepUnitTemps } from "./unit_leftovers.ts";

/** What happened (or, with dryRun, would happen) to one unit file. */
export interface UnitAction {
  name: string;
  path: string;
  /** created: did not exist; replaced: differed (only with force); unchanged: identical already. */
  action: "created" | "replaced" | "unchanged";
}

/** What {@link installUnits} did (or, with dryRun, would do). */
export interface InstallResult {
  units: UnitAction[];
  /** Temporary files of a killed install-units removed from the directory (unit_leftovers.ts). */
  leftovers: string[];
}

/** Options of {@link installUnits}. */
export interface InstallOptions {
  dir: string;
  dryRun?: boolean;
  /** Overwrite unit files whose text differs from ours (edited by hand, or an older install). */
  force?: boolean;
  /**
   * Aborted: stop before the next unit is staged, remove what was staged and reject with the reason.
   * Not during the renames, which all happen (or are all put back) first: an exit between two left a
   * mix of the old units and the new.
   */
  signal?: AbortSignal;
}

async function currentText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toVigoError(err, path);
  }
}

/**
 * Installs `units` into `opts.dir`. Throws {@link ExistsError} (exit 10) naming changed files, and
 * {@link UsageError} for a unit name that is not a file name in that directory.
 */
export async function installUnits(units: UnitFile[], opts: InstallOptions): Promise<InstallResult> {
  // A name is a file in the unit directory, never a path out of it ("../x.service").
  for (const u of units) {
    if (u.name === "" || u.name === "." || u.name === ".." || u.name.includes("/") || u.name.includes("\0")) {
      throw new UsageError(`${JSON.stringify(u.name)}: not a unit file name (a name in ${opts.dir}, no "/")`);
    }
  }
  // Two installs at once each found the files absent or equal and renamed theirs in: both said
  // "created", and the directory held a mix of both (another --bin's ExecStart) that nobody had
  // agreed to replace. Beside the directory, so nothing but units ever appears in it.
  // Checked before the lock: with the directory's parent missing too, the error named the lock file
  // ("<dir>.vigocli-install-units.lock: no such file or directory"), not the directory asked for. In a
  // dry run too, which said every unit "would be created" (exit 0) where the install fails (exit 9).
  if (units.length > 0) requireDestinationFolder(join(opts.dir, units[0].name));
  using _lock = opts.dryRun ? null : await acquireFileLockBeside(
    opts.dir,
    ".vigocli-install-units.lock",
    "backup install-units into this directory",
  );
  const plan: (UnitAction & { text: string })[] = [];
  for (const u of units) {
    const path = join(opts.dir, u.name);
    const now = await currentText(path);
    const action = now === null ? "created" : now === u.text ? "unchanged" : "replaced";
    plan.push({ name: u.name, path, action, text: u.text });
  }
  const changed = plan.filter((p) => p.action === "replaced");
  if (changed.length > 0 && !opts.force) {
    throw new ExistsError(
      `${changed.map((p) => p.path).join(", ")}: exists with different contents; use --force to replace`,
    );
  }
  // After the refusal, which leaves the directory as it was; under the lock, so no other install's
  // files are judged (their PID runs anyway).
  const leftovers = sweepUnitTemps(opts.dir, units.map((u) => u.name), opts.dryRun === true);
  if (!opts.dryRun) await writeAll(plan.filter((p) => p.action !== "unchanged"), opts.signal);
  return { units: plan.map(({ name, path, action }) => ({ name, path, action })), leftovers };
}

/**
 * Stages every file, and a copy of each unit it replaces, then renames them all. A rename that fails
 * part-way (a unit file that is a mount point, or immutable) puts the old copies back and removes the
 * units it created, so systemd never finds a mix of two installs' units.
 */
async function writeAll(
  files: { path: string; text: string; action: UnitAction["action"] }[],
  signal?: AbortSignal,
): Promise<void> {
  const staged: AtomicFile[] = [];
  // One per file: the unit as it was, or null where there was none.
  const kept: (Kept | null)[] = [];
  let path = "";
  try {
    try {
      for (const f of files) {
        // Between two steps, when everything made so far is in staged and kept for the removal below.
        signal?.throwIfAborted();
        path = f.path;
        const file = await createAtomicFile(f.path, 0o644);
        staged.push(file);
        await file.handle.writeFile(f.text);
        // Here and not only in commit() (whose own fsync then finds nothing left to write): a full disk
        // may show only at fsync, and it must show before the first unit is renamed into place.
        await file.handle.sync();
        kept.push(f.action === "replaced" ? await keepCopy(f.path) : null);
      }
      signal?.throwIfAborted();
    } catch (err) {
      throw toVigoError(err, path);
    }
    // From here on the signal is not looked at: runInterruptible's exit waits for the last rename.
    for (const [i, file] of staged.entries()) {
      try {
        // Fsynced when staged: what is left is renames and directory fsyncs, a short wait for a signal.
        await file.commit({ synced: true });
      } catch (err) {
        const cause = toVigoError(err, file.path);
        if (i === 0) throw cause;
        const notRestored = await putBack(staged.slice(0, i), kept);
        const outcome = notRestored.length === 0
          ? `no unit changed (the ${i} already renamed into place were put back)`
          : `could not put back ${notRestored.join(", ")}`;
        throw new VigoError(`${cause.message}; ${outcome}`, cause.exitCode, cause.kind, { cause: err });
      }
    }
  } catch (err) {
    let failure = err;
    for (const file of [...staged, ...kept]) if (file) failure = await file.abortKeeping(failure);
    throw failure;
  }
  // The renames may run without a turn of the event loop (their awaits settle at once), and a signal
  // reaches its handler only at one: without this turn a SIGTERM that came during them was dropped and
  // the command exited 0 as if none had come.
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Installed: every unit is committed, and the copies of those it replaced go, each tried. One that
  // cannot is named (its name carries this PID: the next install-units removes it), the install standing.
  let left: IoError | undefined;
  for (const file of kept) {
    await file?.abort().catch((err) => {
      const problem = removalProblem(err, file.tempPath);
      const note = "after the units were installed; the next install-units removes it";
      left ??= new IoError(`${file.tempPath}: could not be removed (${problem}) ${note}`, {
        path: file.tempPath,
      });
    });
  }
  if (left) throw left;
}

/** A unit as it was, under a temporary name: `commit` renames it back, `abort` removes it. */
type Kept = Pick<AtomicFile, "tempPath" | "commit" | "abort" | "abortKeeping">;

/**
 * A staged copy of the unit at `path` (bytes and mode), to rename back should the install fail; of a
 * symbolic link (a unit `systemctl mask` links to /dev/null, or one linked in from elsewhere), the link.
 */
async function keepCopy(path: string): Promise<Kept> {
  // A copy through the link was a regular file with its target's mode: /dev/null's 0666 made the
  // masked unit a file that any local user could fill with a unit systemd runs as root.
  if ((await lstat(path)).isSymbolicLink()) return await keepLink(path);
  const bytes = await readFile(path);
  const { mode } = await stat(path);
  const copy = await createAtomicFile(path, 0o600);
  try {
    await copy.handle.writeFile(bytes);
    await copy.handle.chmod(mode & 0o7777);
    await copy.handle.sync();
  } catch (err) {
    throw await copy.abortKeeping(err);
  }
  return copy;
}

/** The link at `path`, made again under a temporary name beside it. */
async function keepLink(path: string): Promise<Kept> {
  const temp = tempPathFor(path);
  await symlink(await readlink(path), temp);
  let done = false;
  return {
    tempPath: temp,
    commit() {
      if (done) return Promise.resolve();
      renameSync(temp, path);
      fsyncDirectory(dirname(path));
      done = true;
      return Promise.resolve();
    },
    abort() {
      if (!done) rmSync(temp, { force: true });
      done = true;
      return Promise.resolve();
    },
    abortKeeping(failure) {
      const kept = done ? failure : removingTemp(failure, temp, path);
      done = true;
      return Promise.resolve(kept);
    },
  };
}

/**
 * Undoes the installed units: renames each kept copy back, removes each created unit. Returns the
 * paths it could not restore, each with its error.
 */
async function putBack(installed: AtomicFile[], kept: (Kept | null)[]): Promise<string[]> {
  const failed: string[] = [];
  for (const [i, file] of installed.entries()) {
    try {
      const copy = kept[i];
      if (copy) {
        await copy.commit();
      } else {
        rmSync(file.path);
        fsyncDirectory(dirname(file.path));
      }
    } catch (err) {
      failed.push(toVigoError(err, file.path).message);
    }
  }
  return failed;
}

/**
 * The one line an interrupted install-units prints (runInterruptible's report): whether the units are
 * the old ones or the new, and whether temporary files are left.
 */
export function interruptedInstallLine(
  dir: string,
  dryRun: boolean,
  outcome: StoppedOutcome,
  signal: string,
): string {
  const what = `install-units into ${dir} interrupted (${signal})`;
  if (dryRun) return `${what}; a dry run, nothing written`;
  switch (outcome.kind) {
    case "finished":
      return `${what} as it completed: every unit is installed`;
    case "undone":
      return `${what}; no unit changed, no temporary file left`;
    case "left":
      return `${what}; ${outcome.error.message}`;
    case "unsettled":
      return `${what} before it had stopped (a second signal, or ${SETTLE_MS / 1000} s): units may be ` +
        `part old, part new, and temporary files .NAME.tmp-${process.pid}-… may be left in ${dir}, where ` +
        "the next install-units removes them";
  }
}
