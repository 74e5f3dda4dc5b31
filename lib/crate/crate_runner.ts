/**
 * Runs every resource of a crate in order. A failing resource does not stop the others (as an agent
 * converging a crate would carry on); the report says what happened to each, and the first failure
 * decides the exit code.
 */
import { toVigoError, type VigoError } from "../errors.ts";
import { backupExecutor } from "./backup_executor.ts";
import type { CrateFile, CrateResource } from "./crate_file.ts";
import { dbBackupExecutor } from "./db_backup_executor.ts";
import { writeLastRun } from "./last_run.ts";
import { type ResourceReport, runResource, type RunSettings } from "./resource_run.ts";

/** The outcome of `crate run`. */
export interface CrateRunReport {
  crate: string;
  path: string;
  /** RFC 3339 time the run used (VIGO_NOW or the clock). */
  now: string;
  dryRun: boolean;
  resources: ResourceReport[];
}

/** Runs `crate` (only the resources named in `only`, when given). */
export async function runCrate(
  crate: CrateFile,
  settings: RunSettings,
  only?: string[],
): Promise<{ report: CrateRunReport; errors: VigoError[] }> {
  const report: CrateRunReport = {
    crate: crate.name,
    path: crate.path,
    now: settings.now.toISOString(),
    dryRun: settings.dryRun,
    resources: [],
  };
  const errors: VigoError[] = [];
  for (const res of selected(crate.resources, only)) {
    const r: ResourceReport = {
      resource: res.name,
      type: res.type,
      targetPath: res.targetPath,
      status: "failed",
      reason: null,
      snapshot: null,
      previous: null,
      stats: null,
      details: [],
      pruned: [],
      removedLeftovers: [],
      preCommand: null,
      postCommand: null,
      warnings: [],
    };
    report.resources.push(r);
    // A post_command that fails after the snapshot was made fails the run, the snapshot kept: the
    // last-run record names it (it said none, as if nothing had been made).
    let made = false;
    try {
      if (res.type === "backup") await runResource(res, backupExecutor(res), settings, r);
      else await runResource(res, dbBackupExecutor(res), settings, r);
    } catch (err) {
      const e = toVigoError(err);
      made = r.status === "created";
      r.status = "failed";
      r.reason = e.message;
      errors.push(e);
    }
    if (!settings.dryRun && r.status !== "planned") {
      await writeLastRun(res.targetPath, {
        ran_at: settings.now.toISOString(),
        status: r.status,
        reason: r.reason ?? null,
        snapshot: r.status === "created" || made ? r.snapshot ?? null : null,
      }).catch((err) => r.warnings.push(`last-run record not written: ${toVigoError(err).message}`));
    }
  }
  return { report, errors };
}

function selected(resources: CrateResource[], only?: string[]): CrateResource[] {
  if (!only || only.length === 0) return resources;
  return resources.filter((r) => only.includes(r.name));
}
