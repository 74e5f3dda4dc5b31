/**
 * Which archives a prune removes — a pure decision, shared by remote and local pruning.
 * `keep: N` keeps the N newest and removes the rest. Otherwise archives older than `maxAgeMs` are
 * removed, but the newest archive is always kept: a retention policy must never leave an operator
 * with no backup at all because the backups stopped (the usual reason they are all old). An archive dated
 * in the future (future_dated.ts) is kept and left out of the count: taken as the newest, it would keep
 * an old state in place of the archives with the newest data.
 */
import { UsageError } from "../errors.ts";
import { isDatedInFuture } from "./future_dated.ts";

/** The facts the decision needs about one archive. */
export interface RetentionCandidate {
  name: string;
  /** When the archive was made (from its name, else its modification time). */
  time: Date;
}

/** The policy. */
export interface RetentionPolicy {
  /** Keep this many newest archives (≥ 1); the rest go. Takes precedence over maxAgeMs. */
  keep?: number;
  /** Remove archives older than this (milliseconds before `now`). */
  maxAgeMs?: number;
  now: Date;
}

/** One line of the decision, with the reason (for `--dry-run` and `--json`). */
export interface RetentionDecision<T extends RetentionCandidate> {
  archive: T;
  action: "keep" | "delete";
  reason: string;
  /** Kept because it is dated in the future, not counted among the newest (the caller warns of it). */
  datedInFuture: boolean;
}

/**
 * Decides, newest first, what to keep and what to delete. Throws UsageError for a `keep` that is not a
 * whole number ≥ 1: 0 or NaN would delete every archive, the newest too.
 */
export function planRetention<T extends RetentionCandidate>(
  archives: T[],
  policy: RetentionPolicy,
): RetentionDecision<T>[] {
  if (policy.keep !== undefined && !(Number.isSafeInteger(policy.keep) && policy.keep >= 1)) {
    throw new UsageError(`retention keep ${policy.keep}: expected a whole number ≥ 1`);
  }
  const sorted = [...archives].sort((a, b) =>
    b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0)
  );
  const cutoff = policy.maxAgeMs === undefined ? undefined : policy.now.getTime() - policy.maxAgeMs;
  // The rank among the archives that are not dated in the future: those alone count as the newest.
  let rank = 0;
  return sorted.map((archive): RetentionDecision<T> => {
    if (isDatedInFuture(archive.time, policy.now)) {
      return {
        archive,
        action: "keep",
        reason: "dated in the future (not counted, not deleted)",
        datedInFuture: true,
      };
    }
    const i = rank++;
    const decide = (action: "keep" | "delete", reason: string) => ({
      archive,
      action,
      reason,
      datedInFuture: false,
    });
    if (policy.keep !== undefined) {
      return i < policy.keep
        ? decide("keep", `one of the ${policy.keep} newest`)
        : decide("delete", `beyond the ${policy.keep} newest`);
    }
    if (i === 0) return decide("keep", "newest archive (always kept)");
    if (cutoff !== undefined && archive.time.getTime() < cutoff) {
      return decide("delete", "older than the retention period");
    }
    return decide("keep", "within the retention period");
  });
}
