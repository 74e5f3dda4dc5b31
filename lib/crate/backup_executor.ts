/**
 * The `backup` executor's type-specific part: cross-filesystem policy and building one hardlink
 * snapshot of `source_dir` (see tree_snapshot.ts). Scheduling, locking, hooks and pruning are shared
 * with db_backup in resource_run.ts.
 *
 * cross_fs compares the filesystem (st_dev) of `source_dir` with that of `target_path` (its nearest
 * existing ancestor before the first run). Hardlinks only ever join the previous and the new snapshot,
 * both inside target_path, so they work either way; the setting states whether a backup on another
 * filesystem is intended: `fail` refuses, `warn` runs and says so, `copy` runs silently. It also decides
 * what happens if a link does fail with EXDEV (a snapshot directory that is itself a mount point):
 * `fail` stops, `warn` and `copy` fall back to copying the file.
 */
import process from "node:process";
import { relative } from "node:path";
import { ConfigError } from "../errors.ts";
import type { BackupResource } from "./crate_file.ts";
import { compileExcludes } from "./exclude_glob.ts";
import { onDifferentFilesystems } from "./fs_checks.ts";
import type { ResourceExecutor } from "./resource_run.ts";
import type { SnapshotEntry } from "./snapshot_store.ts";
import { buildTreeSnapshot, type TreeStats } from "./tree_snapshot.ts";
import { progressPhase } from "../progress.ts";

/** Executor for one `type: backup` resource. */
export function backupExecutor(res: BackupResource): ResourceExecutor<TreeStats> {
  // a target inside the source would otherwise be copied into itself, snapshot after snapshot
  const inside = relative(res.sourceDir, res.targetPath);
  const selfExclude = inside !== "" && !inside.startsWith("..") && !inside.startsWith("/")
    ? [`/${inside}`]
    : [];
  const exclude = compileExcludes([...res.exclude, ...selfExclude]);
  return {
    source: res.sourceDir,
    preflight(warn) {
      if (!onDifferentFilesystems(res.sourceDir, res.targetPath)) return;
      const msg =
        `source_dir ${res.sourceDir} and target_path ${res.targetPath} are on different filesystems`;
      if (res.crossFs === "fail") throw new ConfigError(`resource "${res.name}": ${msg} (cross_fs: fail)`);
      if (res.crossFs === "warn") warn(`${msg} (cross_fs: warn)`);
    },
    async build(dest: string | null, prev: SnapshotEntry | null, dryRun: boolean, warn: (m: string) => void) {
      const progress = progressPhase(`snapshot ${res.sourceDir}`, undefined, "entries");
      try {
        return await buildTreeSnapshot(res.sourceDir, dest ?? "", prev?.path ?? null, exclude, {
          dryRun,
          preserveOwner: process.getuid?.() === 0,
          crossFs: res.crossFs,
          recordCopies: dryRun,
          warn,
          onEntry: () => progress.advance(1),
        });
      } finally {
        progress.end();
      }
    },
    describe(stats: TreeStats, dryRun: boolean): string[] {
      const verb = dryRun ? "would " : "";
      const lines = [
        `${verb}link ${stats.linked} unchanged files, ${verb}copy ${stats.copied} files (${stats.bytesCopied} bytes), ` +
        `${stats.dirs} directories, ${stats.symlinks} symlinks, ${stats.excluded} excluded`,
      ];
      for (const p of stats.copiedPaths) lines.push(`  ${verb}copy ${p}`);
      return lines;
    },
  };
}
