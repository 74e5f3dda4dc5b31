/**
 * The restore drill's report (docs/drill-report.md): one JSON file per drill under
 * `<paths.snapshots>/drills/`, named after the drill's start time so that the newest sorts last.
 * `backup drill` writes it; `backup status` and the metrics endpoint read it. Validation is pure;
 * reading and writing are the thin shell around it.
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError, ExistsError, toVigoError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil/atomic_file.ts";
import { makeOwnDirectory } from "../fsutil/own_directory.ts";

/** The report format version this code writes and reads. */
const DRILL_REPORT_VERSION = 1;

/** Name of the directory under `paths.snapshots` that holds the reports. */
const DRILLS_DIR_NAME = "drills";

/** The three recovery paths a drill exercises, in report order. */
export const DRILL_PATH_NAMES = ["archive", "snapshot", "replica"] as const;

/** One of {@link DRILL_PATH_NAMES}. */
export type DrillPathName = typeof DRILL_PATH_NAMES[number];

/**
 * Outcome of one recovery path. `not_configured` is not a failure; `error` means the drill could not
 * check the path (its own scratch disk failed), which says nothing about the backup either way.
 */
export type DrillPathStatus = "pass" | "fail" | "error" | "not_configured";

/** What the drill found for one recovery path. */
export interface DrillPathResult {
  /** pass, fail, error (not checked), or not_configured (no archive source, no configcrate, no backup.url). */
  status: DrillPathStatus;
  /** Age in seconds of the newest state this path recovered, at the drill's start; null if none. */
  rpo_seconds: number | null;
  /** Wall time in milliseconds of this path's restore(s); null if nothing was restored. */
  rto_ms: number | null;
  /** One line: why it failed or was not configured; null when it passed without remark. */
  message: string | null;
  /** Path-specific facts (names restored, table counts, checks run); free-form, JSON object. */
  detail: Record<string, unknown>;
}

/** A whole drill report (format version 1). */
export interface DrillReport {
  version: 1;
  /** RFC 3339 UTC, e.g. "2026-12-02T07:00:00Z" (fractional seconds allowed). */
  started_at: string;
  /** RFC 3339 UTC. */
  finished_at: string;
  /** True exactly when no path has status "fail" or "error". */
  ok: boolean;
  paths: Record<DrillPathName, DrillPathResult>;
  /**
   * The drill's scratch directory when it could not be removed, and why; absent when it was. Says nothing
   * about the backup (`ok` does not look at it).
   */
  scratch_left?: { path: string; problem: string };
}

/** The newest report in a directory and where it was read from. */
export interface LatestDrillReport {
  path: string;
  report: DrillReport;
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const REPORT_NAME = /^drill-\d{8}T\d{6}Z(_\d{3})?\.json$/;
/**
 * Reports of drills started in one second: the first gets the plain name, the next `_002` … `_999`.
 * `_` sorts after `.` and the number is fixed-width, so the names still sort in the order written.
 */
const MAX_IN_ONE_SECOND = 999;
const STATUSES: readonly string[] = ["pass", "fail", "error", "not_configured"];

/** `<snapshotsDir>/drills`: where reports live for a server whose paths.snapshots is `snapshotsDir`. */
export function drillsDirFor(snapshotsDir: string): string {
  return join(snapshotsDir, DRILLS_DIR_NAME);
}

/**
 * `drill-YYYYMMDDTHHMMSSZ.json` for a drill started at `startedAt` (UTC, whole seconds); the `n`th report
 * of that second (n ≥ 2) is `drill-YYYYMMDDTHHMMSSZ_00n.json`.
 */
export function drillReportFileName(startedAt: Date, n = 1): string {
  const iso = startedAt.toISOString(); // 2026-12-02T07:00:00.123Z
  const stamp = iso.slice(0, 19).replaceAll("-", "").replaceAll(":", "") + "Z";
  return n === 1 ? `drill-${stamp}.json` : `drill-${stamp}_${String(n).padStart(3, "0")}.json`;
}

/** True for names {@link drillReportFileName} produces (temp files and others are ignored). */
export function isDrillReportFileName(name: string): boolean {
  return REPORT_NAME.test(name);
}

/**
 * One word for a report: PASSED, FAILED (a path checked and found bad), or INCOMPLETE (no path failed,
 * but the drill could not check one: that says nothing against the backup).
 */
export function drillVerdict(report: DrillReport): "PASSED" | "FAILED" | "INCOMPLETE" {
  if (report.ok) return "PASSED";
  return Object.values(report.paths).some((p) => p.status === "fail") ? "FAILED" : "INCOMPLETE";
}

/** True when `ok` is what the paths say it must be: no path failed. */
export function drillOk(paths: Record<DrillPathName, DrillPathResult>): boolean {
  return DRILL_PATH_NAMES.every((name) => paths[name].status !== "fail" && paths[name].status !== "error");
}

/**
 * Checks that `value` (parsed JSON) is a version-1 drill report and returns it typed. Unknown extra
 * keys are allowed (later minor additions); every documented key must be present with its type.
 * Throws {@link BadInputError} whose message starts with `where` and names the offending key.
 */
export function validateDrillReport(value: unknown, where = "drill report"): DrillReport {
  const fail = (key: string, why: string): never => {
    throw new BadInputError(`${where}: ${key}: ${why}`);
  };
  if (!isObject(value)) fail("(top level)", "expected a JSON object");
  const v = value as Record<string, unknown>;
  if (v.version !== DRILL_REPORT_VERSION) {
    fail("version", `expected ${DRILL_REPORT_VERSION}, got ${JSON.stringify(v.version)}`);
  }
  for (const key of ["started_at", "finished_at"]) {
    const t = v[key];
    if (typeof t !== "string" || !RFC3339_UTC.test(t) || Number.isNaN(Date.parse(t))) {
      fail(key, `expected an RFC 3339 UTC time, got ${JSON.stringify(t)}`);
    }
  }
  if (Date.parse(v.finished_at as string) < Date.parse(v.started_at as string)) {
    fail("finished_at", "is before started_at");
  }
  if (typeof v.ok !== "boolean") fail("ok", `expected true or false, got ${JSON.stringify(v.ok)}`);
  if (!isObject(v.paths)) fail("paths", "expected an object");
  const paths = v.paths as Record<string, unknown>;
  for (const name of DRILL_PATH_NAMES) validatePath(paths[name], `paths.${name}`, fail);
  const left = v.scratch_left as Record<string, unknown> | undefined;
  if (
    left !== undefined &&
    (!isObject(left) || typeof left.path !== "string" || typeof left.problem !== "string")
  ) {
    fail("scratch_left", "expected an object with the strings path and problem");
  }
  const typed = v as unknown as DrillReport;
  if (typed.ok !== drillOk(typed.paths)) {
    fail(
      "ok",
      `is ${typed.ok} but ${
        typed.ok ? "a path failed or was not checked" : "every path was checked and none failed"
      }`,
    );
  }
  return typed;
}

function validatePath(p: unknown, key: string, fail: (key: string, why: string) => never): void {
  if (!isObject(p)) fail(key, "expected an object");
  const r = p as Record<string, unknown>;
  if (typeof r.status !== "string" || !STATUSES.includes(r.status)) {
    fail(`${key}.status`, `expected pass, fail, error or not_configured, got ${JSON.stringify(r.status)}`);
  }
  for (const k of ["rpo_seconds", "rto_ms"]) {
    const n = r[k];
    if (n !== null && (typeof n !== "number" || !Number.isFinite(n) || n < 0)) {
      fail(`${key}.${k}`, `expected a non-negative number or null, got ${JSON.stringify(n)}`);
    }
  }
  if (r.message !== null && typeof r.message !== "string") {
    fail(`${key}.message`, `expected a string or null, got ${JSON.stringify(r.message)}`);
  }
  if ((r.status === "fail" || r.status === "error") && (typeof r.message !== "string" || r.message === "")) {
    fail(`${key}.message`, `a path with status ${r.status} must say why`);
  }
  if (!isObject(r.detail)) fail(`${key}.detail`, "expected an object");
}

function isObject(x: unknown): boolean {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Parses and validates one report file's text. */
export function parseDrillReport(text: string, where = "drill report"): DrillReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadInputError(`${where}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateDrillReport(value, where);
}

/**
 * Reads the newest report (by file name) in `drillsDir` (see {@link drillsDirFor}). Returns null when
 * the directory does not exist or holds no report. A newest report that is malformed throws
 * {@link BadInputError} naming the file, rather than silently falling back to an older one.
 */
export async function readLatestDrillReport(drillsDir: string): Promise<LatestDrillReport | null> {
  let names: string[];
  try {
    names = await readdir(drillsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toVigoError(err, drillsDir);
  }
  const newest = names.filter(isDrillReportFileName).sort().at(-1);
  if (newest === undefined) return null;
  const path = join(drillsDir, newest);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw toVigoError(err, path);
  }
  return { path, report: parseDrillReport(text, path) };
}

/**
 * Validates `report` and writes it atomically as `<drillsDir>/drill-<started_at>.json`, or the first free
 * `_00n` name of that second (the directory is created if needed). Never replaces a report: another
 * drill of the same second, in this process or another, links its own name first. Returns the path written.
 */
export async function writeDrillReport(drillsDir: string, report: DrillReport): Promise<string> {
  validateDrillReport(report, "drill report (about to be written)");
  await makeOwnDirectory(drillsDir, "the drill report cannot be written there");
  const text = JSON.stringify(report, null, 2) + "\n";
  for (let n = 1;; n++) {
    const path = join(drillsDir, drillReportFileName(new Date(report.started_at), n));
    try {
      await writeFileAtomic(path, text, 0o600, { noReplace: true });
      return path;
    } catch (err) {
      if (!(err instanceof ExistsError) || n === MAX_IN_ONE_SECOND) throw err;
    }
  }
}
