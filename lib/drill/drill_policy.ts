/**
 * The drill's decisions, as pure functions: when is a recovered state too old, which earlier moment
 * of the replica to restore, and how old the replica's newest recoverable state is.
 */
import { formatDuration } from "../config/duration.ts";
import type { CountComparison } from "./db_facts.ts";

/** Default `--max-rpo`: the replica may trail the live database by this much before the drill fails. */
export const DEFAULT_MAX_RPO_MS = 5 * 60_000;

/** Why `what` (newest archive, snapshot) is too old for `maxAgeMs`, or null when it is not (or no limit). */
export function ageProblem(
  what: string,
  ageMs: number,
  maxAgeMs: number | undefined,
): string | null {
  if (maxAgeMs === undefined || ageMs <= maxAgeMs) return null;
  return `${what} is ${formatDuration(Math.round(ageMs))} old, more than the max age ${
    formatDuration(maxAgeMs)
  }`;
}

/**
 * A moment strictly inside (from, to], chosen with `random` (0 ≤ r < 1), whole milliseconds, for the
 * point-in-time restore; `to` itself when the span is empty.
 */
export function pickEarlierTimestamp(from: Date, to: Date, random: () => number): Date {
  const span = to.getTime() - from.getTime();
  if (span <= 1) return new Date(to.getTime());
  return new Date(from.getTime() + 1 + Math.floor(random() * (span - 1)));
}

/**
 * The replica's RPO in seconds: 0 when its newest state holds every row the live database has (nothing
 * would be lost), else the time from the newest replicated state to when the live database was counted.
 */
export function replicaRpoSeconds(cmp: CountComparison, restoredUpTo: Date, comparedAt: Date): number {
  if (cmp.rows_missing === 0 && cmp.differing.length === 0) return 0;
  return Math.max(0, (comparedAt.getTime() - restoredUpTo.getTime()) / 1000);
}

/**
 * How long the drill waits before restoring the replica once more when its first look found it behind
 * by more than the max RPO: two sync intervals (the replicator ships a commit within one) and a second
 * for the upload.
 */
export function recheckDelayMs(syncIntervalMs: number): number {
  return 2 * syncIntervalMs + 1000;
}
