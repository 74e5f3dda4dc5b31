/**
 * Writes the units of {@link renderUnits} into a unit directory. Every file is checked before any is
 * written, so a refusal leaves the directory exactly as it was; every unit is written and fsynced
 * under a temporary name before the first is renamed into place, so a failed write leaves it as it
 * was too, and systemd never reads half a unit.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ExistsError, toVigoError, VigoError } from "../errors.ts";
import { type AtomicFile, createAtomicFile, requireDestinationFolder } from "../fsutil/atomic_file.ts";
import { acquireFileLockBeside } from "../fsutil/file_lock.ts";
import type { UnitFile } from "./unit_templates.ts";

/** What happened (or, with dryRun, would happen) to one unit file. */
export interface UnitAction {
  name: string;
  path: string;
  /** created: did not exist; replaced: differed (only with force); unchanged: identical already. */
  action: "created" | "replaced" | "unchanged";
}

/** Options of {@link installUnits}. */
export interface InstallOptions {
  dir: string;
  dryRun?: boolean;
  /** Overwrite unit files whose text differs from ours (edited by hand, or an older install). */
  force?: boolean;
}

async function currentText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toVigoError(err, path);
  }
}

/** Installs `units` into `opts.dir`. Throws {@link ExistsError} (exit 10) naming changed files. */
export async function installUnits(units: UnitFile[], opts: InstallOptions): Promise<UnitAction[]> {
  // Two installs at once each found the files absent or equal and renamed theirs in: both said
  // "created", and the directory held a mix of both (another --bin's ExecStart) that nobody had
  // agreed to replace. Beside the directory, so nothing but units ever appears in it.
  // Checked before the lock: with the directory's parent missing too, the error named the lock file
  // ("<dir>.vigocli-install-units.lock: no such file or directory"), not the directory asked for.
  if (!opts.dryRun && units.length > 0) requireDestinationFolder(join(opts.dir, units[0].name));
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
  if (!opts.dryRun) await writeAll(plan.filter((p) => p.action !== "unchanged"));
  return plan.map(({ name, path, action }) => ({ name, path, action }));
}

/**
 * Stages every file, then renames them all. A rename that fails part-way (a unit file that is a mount
 * point, or immutable) cannot be taken back without the old texts; the error names what was installed.
 */
async function writeAll(files: { path: string; text: string }[]): Promise<void> {
  const staged: AtomicFile[] = [];
  let path = "";
  try {
    for (const f of files) {
      path = f.path;
      const file = await createAtomicFile(f.path, 0o644);
      staged.push(file);
      await file.handle.writeFile(f.text);
      // Here and not only in commit() (whose own fsync then finds nothing left to write): a full disk
      // may show only at fsync, and it must show before the first unit is renamed into place.
      await file.handle.sync();
    }
  } catch (err) {
    for (const file of staged) await file.abort();
    throw toVigoError(err, path);
  }
  const installed: string[] = [];
  for (const [i, file] of staged.entries()) {
    try {
      await file.commit();
    } catch (err) {
      for (const rest of staged.slice(i + 1)) await rest.abort();
      const cause = toVigoError(err, file.path);
      if (installed.length === 0) throw cause;
      throw new VigoError(
        `${cause.message}; already installed: ${installed.join(", ")}; the others are unchanged`,
        cause.exitCode,
        cause.kind,
        { cause: err },
      );
    }
    installed.push(file.path);
  }
}
