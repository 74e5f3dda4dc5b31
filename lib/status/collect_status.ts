/**
 * Gathers {@link Status} for one server and answers "can I recover, and how old would my data be?".
 * Every section is read independently: a backend that cannot be reached is reported in its section,
 * never hides the others.
 */
import type { ServerConfig } from "../config/types.ts";
import { drillsDirFor, readLatestDrillReport } from "../drill/drill_report.ts";
import { toVigoError } from "../errors.ts";
import { futureDatedNote } from "../archive/future_dated.ts";
import { failedLocation, localArchives, remoteArchives, remoteArchivesWhere } from "./archive_status.ts";
import { crateStatus } from "./crate_status.ts";
import { NO_REPLICATION, replicationStatus } from "./replication_status.ts";
import type { Status, StatusSummary } from "./status_model.ts";

/** Options of {@link collectStatus}. */
export interface CollectOptions {
  /** Why secrets could not be resolved (remote sections then report it instead of listing). */
  secretsError?: string;
  now?: Date;
  /** How long a section may take (default {@link SECTION_TIMEOUT_MS}). */
  sectionTimeoutMs?: number;
}

/**
 * How long one section (local archives, remote archives, replication) may take before it is reported
 * as timed out: a backend that accepts connections and never answers is retried for minutes, and
 * status must answer "can I recover?" while it does.
 */
export const SECTION_TIMEOUT_MS = 20_000;

/** A status, and when the work it gave up waiting for has ended. */
export interface Collection {
  status: Status;
  /**
   * Settles once every section's work has ended, those reported as timed out included: until then their
   * connections are still open, so a server starts no other collection before.
   */
  settled: Promise<void>;
}

/** Reads every recovery path of `cfg`'s server (see {@link startCollection}). */
export async function collectStatus(cfg: ServerConfig, opts: CollectOptions = {}): Promise<Status> {
  return (await startCollection(cfg, opts)).status;
}

/** `work`'s value, or `late(message)` when it has not settled within `ms`. */
function within<T>(work: Promise<T>, ms: number, late: (message: string) => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late(`timed out after ${ms / 1000} s (no answer)`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Reads every recovery path of `cfg`'s server; a section that overruns its timeout reports so. */
export async function startCollection(cfg: ServerConfig, opts: CollectOptions = {}): Promise<Collection> {
  const now = opts.now ?? new Date();
  const ms = opts.sectionTimeoutMs ?? SECTION_TIMEOUT_MS;
  let drill: Status["drill"] = null;
  let drillError: string | null = null;
  try {
    drill = await readLatestDrillReport(drillsDirFor(cfg.paths.snapshots));
  } catch (err) {
    drillError = toVigoError(err).message;
  }
  const report = drill?.report ?? null;
  const work = [
    localArchives(cfg.paths.snapshots, report, now),
    cfg.backup ? remoteArchives(cfg.backup, report, now, opts.secretsError) : Promise.resolve(null),
    replicationStatus(opts.secretsError ? undefined : cfg.backup, now),
  ] as const;
  const [local, remote, replication] = await Promise.all([
    within(work[0], ms, (e) => failedLocation(cfg.paths.snapshots, e)),
    within(work[1], ms, (e) => failedLocation(remoteArchivesWhere(cfg.backup!), e)),
    within(work[2], ms, (e) => ({ ...NO_REPLICATION, url: cfg.backup?.url ?? null, error: e })),
  ]);
  if (opts.secretsError && cfg.backup) replication.url = cfg.backup.url;
  if (opts.secretsError && cfg.backup) replication.error = opts.secretsError;
  const status: Omit<Status, "summary"> = {
    version: 1,
    generated_at: now.toISOString(),
    server_root: cfg.serverRoot,
    archives: { local, remote },
    snapshots: crateStatus(cfg.serverRoot, now),
    replication,
    drill,
    drill_error: drillError,
  };
  return {
    status: { ...status, summary: summarize(status) },
    settled: Promise.allSettled(work).then(() => {}),
  };
}

/** The verdict over all paths (pure). */
export function summarize(s: Omit<Status, "summary">): StatusSummary {
  const problems: string[] = [];
  const candidates: { path: StatusSummary["best_path"]; age: number }[] = [];
  // Status reads no archive (the drill does): what it knows of one is its sidecar and the last drill.
  const archiveDrill = s.drill?.report.paths.archive;
  // Failed to restore it (no RTO: nothing was restored), not failed on its age or on files that differ
  // from the live tree: an archive that restored is recoverable, however old.
  const drillFailedOn = archiveDrill?.status === "fail" && archiveDrill.rto_ms === null
    ? archiveDrill.detail?.name
    : undefined;
  for (const loc of [s.archives.local, s.archives.remote]) {
    if (!loc) continue;
    if (loc.error) problems.push(`archives: ${loc.error}`);
    for (const f of loc.dated_in_future) {
      problems.push(
        `archives: ${futureDatedNote(`${f.name} (${loc.where})`, f.time, new Date(s.generated_at))}`,
      );
    }
    const newest = loc.newest;
    if (newest && !newest.sidecar) {
      problems.push(
        `archives: newest archive ${newest.name} (${loc.where}) has no .sha256 sidecar to check it by`,
      );
    }
    if (newest && newest.name === drillFailedOn) {
      // Not a recoverable state: the last drill could not restore it.
      problems.push(`archives: newest archive ${newest.name} (${loc.where}) failed the last drill`);
      continue;
    }
    if (loc.newest_age_ms !== null) candidates.push({ path: "archive", age: loc.newest_age_ms });
  }
  for (const r of s.snapshots.resources) {
    if (r.error) problems.push(`snapshots: ${r.error}`);
    if (r.last_run?.status === "failed") {
      problems.push(
        `snapshots: ${r.crate}/${r.resource}: last run failed: ${r.last_run.reason ?? "unknown"}`,
      );
    }
    if (r.newest_age_ms !== null) candidates.push({ path: "snapshot", age: r.newest_age_ms });
  }
  for (const e of s.snapshots.errors) problems.push(`snapshots: ${e}`);
  const rep = s.replication;
  if (rep.error) problems.push(`replication: ${rep.error}`);
  if (rep.live && !rep.live.reachable) {
    problems.push(`replication: replicator not reachable: ${rep.live.error}`);
  }
  if (rep.live?.reachable && !rep.live.healthy) {
    problems.push(`replication: not current (lag ${((rep.live.lag_ms ?? 0) / 1000).toFixed(1)} s)`);
  }
  if (rep.latest_generation && rep.lag_ms !== null) {
    candidates.push({ path: "replica", age: rep.lag_ms });
  }
  if (s.drill_error) problems.push(`drill: ${s.drill_error}`);
  const drillPaths = Object.entries(s.drill?.report.paths ?? {});
  const failed = drillPaths.filter(([, p]) => p.status === "fail");
  if (failed.length) {
    problems.push(
      `drill: last drill FAILED (${failed.map(([n, p]) => `${n}: ${p.message ?? "failed"}`).join("; ")})`,
    );
  }
  // Not a verdict on the backup: the drill's own disk failed, so the path went unchecked.
  const unchecked = drillPaths.filter(([, p]) => p.status === "error");
  if (unchecked.length) {
    problems.push(
      `drill: last drill could not check ${unchecked.map(([n, p]) => `${n}: ${p.message}`).join("; ")}`,
    );
  }
  const best = candidates.sort((a, b) => a.age - b.age)[0];
  return {
    recoverable: candidates.length > 0,
    best_age_ms: best?.age ?? null,
    best_path: best?.path ?? null,
    problems,
  };
}
