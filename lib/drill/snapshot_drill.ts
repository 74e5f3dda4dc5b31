/**
 * The snapshot path of a drill: for every configcrate `backup` resource, the newest hardlink snapshot
 * is copied out into scratch (what a restore does) and each file is compared with the live source;
 * for every `db_backup` resource, the newest snapshot's SQL dump is restored with `crate restore-dump`'s
 * engine, integrity-checked and its tables counted against the live database.
 */
import { cp, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { BadInputError, NotFoundError } from "../errors.ts";
import { listSnapshots } from "../crate/snapshot_store.ts";
import { dumpFileName } from "../crate/db_backup_executor.ts";
import { restoreDump } from "../crate/dump_restore.ts";
import type { BackupResource, DbBackupResource } from "../crate/crate_file.ts";
import { checkNotRunError, inspectDatabase, summarizeIntegrity } from "../sqlite/database_facts.ts";
import type { DrillPathResult } from "./drill_report.ts";
import { type DrillContext, failureMessage, isUncheckable, notConfigured } from "./drill_context.ts";
import { findSnapshotResources } from "./crate_discovery.ts";
import { CONFIGCRATES_DIR } from "../crate/configcrates.ts";
import { compareCounts, liveTableCounts, tableCounts } from "./db_facts.ts";
import { ageProblem } from "./drill_policy.ts";
import { newTally, sha256OfFile, tallyFile } from "./file_compare.ts";

/** One resource's outcome inside the path's detail. */
interface ResourceOutcome {
  detail: Record<string, unknown>;
  /** Age of what was restored; null when nothing was. */
  ageMs: number | null;
  problem: string | null;
}

/** Runs the snapshot path. Never throws for a failed check: the result says so. */
export async function drillSnapshots(ctx: DrillContext): Promise<DrillPathResult> {
  const detail: Record<string, unknown> = {};
  const started = performance.now();
  let found;
  try {
    found = findSnapshotResources(ctx.config.serverRoot);
  } catch (err) {
    if (isUncheckable(err, ctx.scratch)) throw err;
    return { status: "fail", rpo_seconds: null, rto_ms: null, message: failureMessage(err), detail };
  }
  if (found.length === 0) {
    return notConfigured(
      `no configcrate with a backup or db_backup resource under ${
        join(ctx.config.serverRoot, CONFIGCRATES_DIR)
      }`,
    );
  }
  const resources: Record<string, unknown>[] = [];
  detail.resources = resources;
  // Over the resources that restored something: one that did not has no age, and counting it as 0 told
  // monitoring "current" for a path that restored nothing (found by review).
  let worstAgeMs: number | null = null;
  const problems: string[] = [];
  for (const [i, { crateFile, resource }] of found.entries()) {
    const scratch = join(ctx.scratch, String(i));
    let outcome: ResourceOutcome;
    try {
      outcome = resource.type === "backup"
        ? await drillTree(resource, scratch, ctx)
        : await drillDump(resource, scratch, ctx);
    } catch (err) {
      if (isUncheckable(err, ctx.scratch)) throw err;
      outcome = { detail: {}, ageMs: null, problem: failureMessage(err) };
    }
    resources.push({ crate_file: crateFile, name: resource.name, type: resource.type, ...outcome.detail });
    if (outcome.problem) problems.push(`${resource.name}: ${outcome.problem}`);
    if (outcome.ageMs !== null) worstAgeMs = Math.max(worstAgeMs ?? 0, outcome.ageMs);
  }
  if (ctx.maxAgeMs !== undefined) detail.max_age_seconds = ctx.maxAgeMs / 1000;
  return {
    status: problems.length ? "fail" : "pass",
    rpo_seconds: worstAgeMs === null ? null : worstAgeMs / 1000,
    rto_ms: worstAgeMs === null ? null : Math.round(performance.now() - started),
    message: problems.length ? problems.join("; ") : null,
    detail,
  };
}

/** The newest complete snapshot of a resource; NotFoundError when it has none. */
function newestSnapshot(targetPath: string) {
  const newest = listSnapshots(targetPath).at(-1);
  if (!newest) throw new NotFoundError(`${targetPath}: no snapshot yet`);
  return newest;
}

async function drillTree(res: BackupResource, scratch: string, ctx: DrillContext): Promise<ResourceOutcome> {
  const snap = newestSnapshot(res.targetPath);
  const ageMs = ctx.now.getTime() - snap.time.getTime();
  const started = performance.now();
  await cp(snap.path, scratch, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const rtoMs = Math.round(performance.now() - started);
  const files = newTally();
  for (const path of await regularFiles(scratch)) {
    const rel = relative(scratch, path);
    const [restored, live] = await Promise.all([sha256OfFile(path), sha256OfFile(join(res.sourceDir, rel))]);
    if (restored === null) throw new BadInputError(`${join(snap.path, rel)}: cannot be read back`);
    tallyFile(files, rel, restored, live);
  }
  const problem = ageProblem(`newest snapshot ${snap.path}`, ageMs, ctx.maxAgeMs);
  return { detail: { snapshot: snap.path, rto_ms: rtoMs, files }, ageMs, problem };
}

async function drillDump(
  res: DbBackupResource,
  scratch: string,
  ctx: DrillContext,
): Promise<ResourceOutcome> {
  const snap = newestSnapshot(res.targetPath);
  const ageMs = ctx.now.getTime() - snap.time.getTime();
  const dump = join(snap.path, dumpFileName(res.sourceDb));
  const out = `${scratch}.db`;
  const started = performance.now();
  await restoreDump(dump, out);
  const rtoMs = Math.round(performance.now() - started);
  const facts = inspectDatabase(out);
  // A check that could not run (no descriptor left, an I/O error on the scratch copy) is no verdict on
  // the dump: the scratch failure it is, not "fails integrity_check".
  const notRun = checkNotRunError(facts, out);
  if (notRun) throw notRun;
  const detail: Record<string, unknown> = { snapshot: snap.path, dump, rto_ms: rtoMs };
  if (facts.integrity !== "ok") {
    detail.integrity_check = summarizeIntegrity(facts.integrity);
    return {
      detail,
      ageMs,
      problem: `${dump}: restored database fails integrity_check: ${detail.integrity_check}`,
    };
  }
  detail.integrity_check = "ok";
  detail.tables = compareCounts(tableCounts(out), liveTableCounts(res.sourceDb, ctx.lockTimeoutMs)).tables;
  const problem = ageProblem(`newest snapshot ${snap.path}`, ageMs, ctx.maxAgeMs);
  return { detail, ageMs, problem };
}

/** Regular files below `dir`, recursively. */
async function regularFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await regularFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
