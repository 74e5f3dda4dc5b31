/**
 * The outcome of a resource's last `crate run`, kept in its target directory as
 * `.vigo-last-run.json` so `backup status` can say when it last ran and whether that worked (a
 * failed run leaves no snapshot to date it by). Written atomically; read leniently (a missing or
 * unreadable record is "never recorded", not an error: it is a convenience, not a backup).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";

/** File name of the record inside a target_path. */
const LAST_RUN_NAME = ".vigo-last-run.json";

/** What the record holds (snake_case JSON). */
export interface LastRun {
  /** RFC 3339 UTC time of the run (the time its snapshot is named after; VIGO_NOW in tests). */
  ran_at: string;
  /** created, skipped or failed. */
  status: "created" | "skipped" | "failed";
  /** Why it was skipped or failed; null when created. */
  reason: string | null;
  /** The snapshot it created, else null. */
  snapshot: string | null;
}

/** Records `run` in `targetPath`; does nothing when the directory does not exist. */
export async function writeLastRun(targetPath: string, run: LastRun): Promise<void> {
  if (!existsSync(targetPath)) return;
  // A run killed while writing this left its temp file: gone once that run is dead.
  sweepStaleTemps(targetPath);
  await writeFileAtomic(join(targetPath, LAST_RUN_NAME), JSON.stringify(run) + "\n", 0o644);
}

/** The record in `targetPath`, or null when there is none (or it cannot be read). */
export function readLastRun(targetPath: string): LastRun | null {
  try {
    const v = JSON.parse(readFileSync(join(targetPath, LAST_RUN_NAME), "utf8"));
    if (typeof v?.ran_at !== "string" || !["created", "skipped", "failed"].includes(v?.status)) return null;
    return { ran_at: v.ran_at, status: v.status, reason: v.reason ?? null, snapshot: v.snapshot ?? null };
  } catch {
    return null;
  }
}
