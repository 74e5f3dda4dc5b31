/** What every path of a drill is given, and the result helpers they share. */
import type { ServerConfig } from "../config/types.ts";
import type { PasswordSource } from "../archive/archive_source.ts";
import type { KdfCap } from "../crypto/kdf_cap.ts";
import { resolve, sep } from "node:path";
import { IoError } from "../errors.ts";
import type { DrillPathResult } from "./drill_report.ts";
import { LiveDatabaseLocked } from "./db_facts.ts";

/** The inputs of one path's drill. */
export interface DrillContext {
  config: ServerConfig;
  /** A directory this path may fill; removed by the caller afterwards. */
  scratch: string;
  /** The drill's start: ages (RPO) are measured from here. */
  now: Date;
  /** The password of an encrypted archive, asked only if the archive is one (the CLI's source). */
  password?: PasswordSource;
  /** How much Argon2id work an encrypted archive may ask for (default: lib/crypto/kdf_cap.ts). */
  kdfCap?: KdfCap;
  /** Newest archive / snapshot may be at most this old (ms); undefined = no limit. */
  maxAgeMs?: number;
  /** The replica may trail the live database by at most this much (ms). */
  maxRpoMs: number;
  /** How long to wait for the live database when another process holds it locked (ms). */
  lockTimeoutMs: number;
  /** Chooses the replica's earlier restore point; Math.random outside tests. */
  random: () => number;
}

/** A path that is not set up on this server. */
export function notConfigured(message: string): DrillPathResult {
  return { status: "not_configured", rpo_seconds: null, rto_ms: null, message, detail: {} };
}

/** One line for an error that stopped a path (VigoError messages already name the file and problem). */
export function failureMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
}

/**
 * True for an I/O failure (disk full, I/O error) of a file under `scratch`: the drill's own disk, not
 * the backup, failed, so the path's catch must not turn it into a "fail" that blames the backup. Told
 * by the error's path, not its message, whose wording may change.
 */
export function isScratchFailure(err: unknown, scratch: string): err is IoError {
  return err instanceof IoError && err.path !== undefined && resolve(err.path).startsWith(`${scratch}${sep}`);
}

/**
 * True for a failure that is no verdict on the backup: the drill's own scratch directory failing
 * ({@link isScratchFailure}), or the live database it compares with locked for longer than it waits.
 */
export function isUncheckable(err: unknown, scratch: string): err is IoError | LiveDatabaseLocked {
  return isScratchFailure(err, scratch) || err instanceof LiveDatabaseLocked;
}

/** A path the drill could not check ({@link isUncheckable}), saying why. */
export function couldNotCheck(err: IoError | LiveDatabaseLocked): DrillPathResult {
  const why = err instanceof LiveDatabaseLocked
    ? "the live database it compares with, not the backup"
    : "its own scratch directory, not the backup";
  return {
    status: "error",
    rpo_seconds: null,
    rto_ms: null,
    message: `the drill could not run (${why}): ${failureMessage(err)}`,
    detail: {},
  };
}
