/** The archives part of `backup status`: local `paths.snapshots` and remote `archives/`. */
import { listArchives } from "../archive/archive_list.ts";
import { ARCHIVES_PREFIX, listRemoteArchives } from "../archive/remote_archives.ts";
import { objectUrl, spareTempsInListings } from "../backend/backend.ts";
import { openBackend } from "../backends.ts";
import type { BackupConfig } from "../config/types.ts";
import type { DrillReport } from "../drill/drill_report.ts";
import { toVigoError } from "../errors.ts";
import { isDatedInFuture } from "../archive/future_dated.ts";
import type { ArchiveFact, ArchiveLocation } from "./status_model.ts";

/** What a local or remote listing says of one archive (both listings have these fields). */
export type Row = Omit<ArchiveFact, "verified_by_drill">;

/** Name of the archive the drill restored and passed, if any. */
function drilledArchive(drill: DrillReport | null): string | null {
  const p = drill?.paths.archive;
  return p?.status === "pass" && typeof p.detail?.name === "string" ? p.detail.name : null;
}

/**
 * Summarises rows (pure): count, bytes, newest with its age at `now`. An archive dated in the future is
 * never the newest: its name says 0 s old whatever the age of what it holds.
 */
export function summarizeArchives(
  where: string,
  rows: Row[],
  drill: DrillReport | null,
  now: Date,
): ArchiveLocation {
  const sorted = [...rows].sort((a, b) => b.time.localeCompare(a.time) || b.name.localeCompare(a.name));
  const future = sorted.filter((r) => isDatedInFuture(new Date(r.time), now));
  const n = sorted.find((r) => !future.includes(r));
  const newest: ArchiveFact | null = n
    ? {
      name: n.name,
      time: n.time,
      size: n.size,
      encrypted: n.encrypted,
      sidecar: n.sidecar,
      verified_by_drill: drilledArchive(drill) === n.name,
    }
    : null;
  return {
    where,
    count: rows.length,
    total_bytes: rows.reduce((s, r) => s + r.size, 0),
    newest,
    newest_age_ms: n ? Math.max(0, now.getTime() - Date.parse(n.time)) : null,
    dated_in_future: future.map((r) => ({ name: r.name, time: r.time })),
    error: null,
  };
}

/** A location that could not be read, and why. */
export function failedLocation(where: string, error: string): ArchiveLocation {
  return { where, count: 0, total_bytes: 0, newest: null, newest_age_ms: null, dated_in_future: [], error };
}

/** Archives under the local snapshots directory. */
export async function localArchives(
  dir: string,
  drill: DrillReport | null,
  now: Date,
): Promise<ArchiveLocation> {
  try {
    return summarizeArchives(dir, await listArchives(dir), drill, now);
  } catch (err) {
    return failedLocation(dir, toVigoError(err).message);
  }
}

/** `archives/` under backup.url, as a location's `where` before the backend names it. */
export function remoteArchivesWhere(backup: BackupConfig): string {
  return `${backup.url.replace(/\/+$/, "")}/${ARCHIVES_PREFIX}`;
}

/**
 * Archives under `archives/` on backup.url. `secretsError` (why server.yaml's `secret:` values did not
 * resolve) is reported as the location's error without asking the backend, whose credentials are
 * among those values.
 */
export async function remoteArchives(
  backup: BackupConfig,
  drill: DrillReport | null,
  now: Date,
  secretsError?: string,
): Promise<ArchiveLocation> {
  let where = remoteArchivesWhere(backup);
  if (secretsError) return failedLocation(where, secretsError);
  try {
    const backend = await openBackend(backup.url, backup.destination);
    spareTempsInListings(backend);
    try {
      where = objectUrl(backend, ARCHIVES_PREFIX);
      return summarizeArchives(where, await listRemoteArchives(backend), drill, now);
    } finally {
      await backend.close();
    }
  } catch (err) {
    return failedLocation(where, toVigoError(err).message);
  }
}
