/**
 * `backup drill`'s engine: each recovery path restored into its own scratch directory, checked, and
 * the scratch removed; then the report written under `<paths.snapshots>/drills/`. The live server's
 * files are only read (the live database read-only); the scratch directory never lies inside the live
 * tree's data (it is under paths.snapshots/drills, `--scratch`, or the system temp directory).
 */
import { mkdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ServerConfig } from "../config/types.ts";
import { IoError, toVigoError, UsageError } from "../errors.ts";
import { makeTempDir } from "../archive/interrupt_cleanup.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { removeTemporaryTree, removingTree } from "../fsutil/left_temp.ts";
import {
  drillOk,
  type DrillPathName,
  type DrillPathResult,
  type DrillReport,
  drillsDirFor,
  writeDrillReport,
} from "./drill_report.ts";
import { couldNotCheck, type DrillContext, isUncheckable } from "./drill_context.ts";
import { DEFAULT_LIVE_LOCK_TIMEOUT_MS, LiveDatabaseLocked } from "./db_facts.ts";
import type { PasswordSource } from "../archive/archive_source.ts";
import type { KdfCap } from "../crypto/kdf_cap.ts";
import { drillArchive } from "./archive_drill.ts";
import { drillSnapshots } from "./snapshot_drill.ts";
import { drillReplica } from "./replica_drill.ts";
import { DEFAULT_MAX_RPO_MS } from "./drill_policy.ts";

/** Options of {@link runDrill}. */
export interface DrillOptions {
  config: ServerConfig;
  /** Parent of the scratch directory (default `<paths.snapshots>/drills`, else the temp directory). */
  scratchParent?: string;
  /** The password of an encrypted archive (asked only if the newest archive is one). */
  password?: PasswordSource;
  /** How much Argon2id work an encrypted archive may ask for (default: lib/crypto/kdf_cap.ts). */
  kdfCap?: KdfCap;
  maxAgeMs?: number;
  maxRpoMs?: number;
  /** How long to wait for a live database another process holds locked (default 30 s). */
  lockTimeoutMs?: number;
  random?: () => number;
}

/** What a drill produced. */
export interface DrillOutcome {
  report: DrillReport;
  /** Where the report was written. */
  reportPath: string;
  /** Paths not checked because the live database stayed locked (status "error"; the CLI's exit 5). */
  lockedOut: DrillPathName[];
}

const PATHS: [DrillPathName, (ctx: DrillContext) => Promise<DrillPathResult>][] = [
  ["archive", drillArchive],
  ["snapshot", drillSnapshots],
  ["replica", drillReplica],
];

/**
 * Runs a whole drill and writes its report; the caller turns a failed path into exit 8 and a path the
 * drill could not check (status "error") into exit 11, or 5 when the live database's lock was why.
 */
export async function runDrill(opts: DrillOptions): Promise<DrillOutcome> {
  const now = new Date();
  const drillsDir = drillsDirFor(opts.config.paths.snapshots);
  const scratch = await scratchDir(opts.scratchParent, drillsDir);
  const paths = {} as Record<DrillPathName, DrillPathResult>;
  const lockedOut: DrillPathName[] = [];
  try {
    for (const [name, run] of PATHS) {
      const dir = join(scratch.path, name);
      await mkdir(dir, { mode: 0o700 });
      const ctx: DrillContext = {
        config: opts.config,
        scratch: dir,
        now,
        password: opts.password,
        kdfCap: opts.kdfCap,
        maxAgeMs: opts.maxAgeMs,
        maxRpoMs: opts.maxRpoMs ?? DEFAULT_MAX_RPO_MS,
        lockTimeoutMs: opts.lockTimeoutMs ?? DEFAULT_LIVE_LOCK_TIMEOUT_MS,
        random: opts.random ?? Math.random,
      };
      try {
        paths[name] = await run(ctx);
      } catch (err) {
        if (!isUncheckable(err, dir)) throw err;
        // Removing this path's scratch may free the room the next path needs (and the live database's
        // lock may be gone by the next one), so the drill goes on.
        paths[name] = couldNotCheck(err);
        if (err instanceof LiveDatabaseLocked) lockedOut.push(name);
      } finally {
        // Each path's copies go before the next path starts: a drill needs room for one restore at a time.
        // One that stays is inside the scratch directory, whose removal below names what is left.
        await removeTemporaryTree(dir);
      }
    }
  } catch (err) {
    // The failure stays the error (a drill that could not run names its cause), naming what it left.
    const failure = await removingTree(err, scratch.path, "scratch directory", NEXT_DRILL_SWEEP);
    scratch.forget();
    throw failure;
  }
  const problem = await removeTemporaryTree(scratch.path);
  scratch.forget();
  const report: DrillReport = {
    version: 1,
    started_at: now.toISOString(),
    finished_at: new Date().toISOString(),
    ok: drillOk(paths),
    paths,
    ...(problem === undefined ? {} : { scratch_left: { path: scratch.path, problem } }),
  };
  const reportPath = await writeDrillReport(drillsDir, report).catch((err) => {
    const e = toVigoError(err);
    if (!(e instanceof IoError)) throw e;
    // Nothing else will say what the drill found: the lines are printed from the written report.
    const found = Object.entries(paths).map(([name, p]) => `${name} ${p.status}`).join(", ");
    throw new IoError(`${e.message} (the drill's report could not be written; it found: ${found})`, {
      cause: err,
    });
  });
  return { report, reportPath, lockedOut };
}

/** Who removes a scratch directory left behind: its name carries the PID, and each drill sweeps its parent. */
export const NEXT_DRILL_SWEEP = "the next drill's sweep";

/** `.scratch-*` under `parent` (created), else under the drills directory, else the temp directory. */
async function scratchDir(parent: string | undefined, drillsDir: string) {
  if (parent !== undefined) {
    // An existing directory, as mktemp -p takes one: a mistyped --scratch made its whole tree quietly.
    const dir = resolve(parent);
    const st = await stat(dir).catch(() => null);
    if (!st?.isDirectory()) {
      throw new UsageError(`--scratch ${parent}: ${st ? "not a directory" : "no such directory"}`);
    }
    return freshScratch(dir, ".scratch-");
  }
  try {
    await mkdir(drillsDir, { recursive: true, mode: 0o700 });
    return freshScratch(drillsDir, ".scratch-");
  } catch {
    return freshScratch(tmpdir(), "vigo-drill-scratch-");
  }
}

/** A new scratch directory in `dir`, after a killed drill's (as big as the database) is gone from there. */
function freshScratch(dir: string, prefix: string) {
  sweepStaleTemps(dir, Date.now(), dir === tmpdir());
  return makeTempDir(dir, prefix);
}
