/**
 * Writes the units of {@link renderUnits} into a unit directory. Every file is checked before any is
 * written, so a refusal leaves the directory exactly as it was; each write is atomic (temp name,
 * fsync, rename), so systemd never reads half a unit.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ExistsError, toVigoError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil/atomic_file.ts";
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
  if (!opts.dryRun) {
    for (const p of plan) {
      if (p.action === "unchanged") continue;
      await writeFileAtomic(p.path, p.text, 0o644);
    }
  }
  return plan.map(({ name, path, action }) => ({ name, path, action }));
}
