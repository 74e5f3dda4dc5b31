/**
 * The configcrate part of `backup status`: every `type: backup` (hardlink snapshot sets) and
 * `type: db_backup` (SQL dump directories) resource of every configcrate file under
 * `<root>/stacks/configcrates/`, with its snapshots, the bytes only they hold and its last run.
 */
import { join } from "node:path";
import { loadCrateFile } from "../crate/crate_file.ts";
import { configcrateFiles, CONFIGCRATES_DIR } from "../crate/configcrates.ts";
import { readLastRun } from "../crate/last_run.ts";
import { snapshotUsage } from "../crate/snapshot_usage.ts";
import { listSnapshots } from "../crate/snapshot_store.ts";
import { toVigoError } from "../errors.ts";
import type { CrateResourceStatus, SnapshotsStatus } from "./status_model.ts";

/** Status of every crate resource under `<serverRoot>/stacks/configcrates`. */
export function crateStatus(serverRoot: string, now: Date): SnapshotsStatus {
  const out: SnapshotsStatus = { crates_dir: join(serverRoot, CONFIGCRATES_DIR), resources: [], errors: [] };
  let files: string[];
  try {
    files = configcrateFiles(serverRoot);
  } catch (err) {
    out.errors.push(toVigoError(err).message);
    return out;
  }
  for (const file of files) {
    let crate;
    try {
      // Package, file or service resources are the agent's, not backups: left out, as the drill does.
      crate = loadCrateFile(file, { skipOtherExecutors: true });
    } catch (err) {
      out.errors.push(toVigoError(err, file).message);
      continue;
    }
    for (const res of crate.resources) {
      const row: CrateResourceStatus = {
        crate: crate.name,
        file,
        resource: res.name,
        type: res.type,
        target_path: res.targetPath,
        count: 0,
        newest: null,
        newest_age_ms: null,
        unique_bytes: 0,
        last_run: null,
        error: null,
      };
      try {
        const snaps = listSnapshots(res.targetPath);
        row.count = snaps.length;
        const n = snaps.at(-1);
        if (n) {
          row.newest = { name: n.name, time: n.time.toISOString().replace(".000Z", "Z") };
          row.newest_age_ms = Math.max(0, now.getTime() - n.time.getTime());
          row.unique_bytes = snapshotUsage(res.targetPath).reduce((s, u) => s + u.uniqueBytes, 0);
        }
        const last = readLastRun(res.targetPath);
        if (last) row.last_run = { ran_at: last.ran_at, status: last.status, reason: last.reason };
      } catch (err) {
        row.error = toVigoError(err, res.targetPath).message;
      }
      out.resources.push(row);
    }
  }
  return out;
}
