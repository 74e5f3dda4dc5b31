/**
 * The archive path of a drill: the newest archive (local `paths.snapshots`, else `archives/` on
 * backup.url) not dated in the future (lib/archive/future_dated.ts), restored into scratch with
 * `backup restore`'s engine — which checks every entry against the manifest and runs integrity_check —
 * then compared with the live server: per-table row counts, and each archived file's SHA-256 against
 * the live file.
 */
import { join } from "node:path";
import { listArchives } from "../archive/archive_list.ts";
import { listRemoteArchives } from "../archive/remote_archives.ts";
import { newestNotDatedInFuture } from "../archive/future_dated.ts";
import { downloadArchive } from "../archive/remote_download.ts";
import { restoreArchive } from "../archive/restore.ts";
import type { ManifestEntry } from "../archive/manifest.ts";
import { spareTempsInListings } from "../backend/backend.ts";
import { openBackend } from "../backends.ts";
import type { DrillPathResult } from "./drill_report.ts";
import { type DrillContext, failureMessage, isUncheckable, notConfigured } from "./drill_context.ts";
import { compareCounts, liveTableCounts, tableCounts } from "./db_facts.ts";
import { ageProblem } from "./drill_policy.ts";
import { parseRfc3339 } from "../rfc3339.ts";
import { type FileTally, newTally, sha256OfFile, tallyFile } from "./file_compare.ts";

interface Chosen {
  name: string;
  source: "local" | "remote";
  encrypted: boolean | null;
  /** Local path (after a download for a remote archive). */
  path?: string;
}

/** Runs the archive path. Never throws for a failed check: the result says so. */
export async function drillArchive(ctx: DrillContext): Promise<DrillPathResult> {
  const detail: Record<string, unknown> = {};
  const started = performance.now();
  let rtoMs: number | null = null;
  try {
    const chosen = await newestArchive(ctx);
    if (!chosen) {
      return notConfigured(
        `no archive in ${ctx.config.paths.snapshots}${
          ctx.config.backup ? ` nor under ${ctx.config.backup.url}/archives/` : ""
        }`,
      );
    }
    Object.assign(detail, { name: chosen.name, source: chosen.source, encrypted: chosen.encrypted });
    const target = join(ctx.scratch, "root");
    const r = await restoreArchive({
      archive: chosen.path!,
      target,
      dbOnly: false,
      dryRun: false,
      force: false,
      password: ctx.password,
      kdfCap: ctx.kdfCap,
      now: ctx.now,
    });
    rtoMs = Math.round(performance.now() - started);
    detail.encrypted = r.scan.encrypted;
    detail.integrity_check = "ok"; // restoreArchive refuses a database that fails it
    const cmp = compareCounts(
      tableCounts(r.database),
      liveTableCounts(ctx.config.database.path, ctx.lockTimeoutMs),
    );
    detail.tables = cmp.tables;
    detail.files = await compareFiles(r.scan.manifest.entries, ctx.config.serverRoot);
    // parseManifest refused a created_at that is not an RFC 3339 time; Date.parse reads not all of them.
    const ageMs = ctx.now.getTime() - (parseRfc3339(r.scan.manifest.created_at) as Date).getTime();
    const rpo = Math.max(0, ageMs / 1000);
    const tooOld = ageProblem(`newest archive ${chosen.name}`, ageMs, ctx.maxAgeMs);
    return {
      status: tooOld ? "fail" : "pass",
      rpo_seconds: rpo,
      rto_ms: rtoMs,
      message: tooOld,
      detail,
    };
  } catch (err) {
    if (isUncheckable(err, ctx.scratch)) throw err;
    return { status: "fail", rpo_seconds: null, rto_ms: rtoMs, message: failureMessage(err), detail };
  }
}

/**
 * The newest local archive, else the newest remote one downloaded into scratch; null when none. One dated
 * in the future is passed over: named after a clock that ran ahead, it holds an older state than its name
 * says, and restoring it as the newest judged the backups by that old state.
 */
async function newestArchive(ctx: DrillContext): Promise<Chosen | null> {
  const local = newestNotDatedInFuture(await listArchives(ctx.config.paths.snapshots), ctx.now);
  if (local) return { name: local.name, source: "local", encrypted: local.encrypted, path: local.path };
  const backup = ctx.config.backup;
  if (!backup) return null;
  const backend = await openBackend(backup.url, backup.destination);
  spareTempsInListings(backend);
  try {
    const remote = newestNotDatedInFuture(await listRemoteArchives(backend), ctx.now);
    if (!remote) return null;
    const path = join(ctx.scratch, remote.name);
    await downloadArchive(backend, remote.key, path);
    return { name: remote.name, source: "remote", encrypted: remote.encrypted, path };
  } finally {
    await backend.close();
  }
}

/** Archived files (not the database) against the live tree. */
async function compareFiles(entries: ManifestEntry[], serverRoot: string): Promise<FileTally> {
  const tally = newTally();
  for (const e of entries) {
    if (e.type !== "file" || e.path.startsWith("db/")) continue;
    tallyFile(tally, e.path, e.sha256!, await sha256OfFile(join(serverRoot, e.path)));
  }
  return tally;
}
