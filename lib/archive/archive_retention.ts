/**
 * Which archives a prune removes — a pure decision, shared by remote and local pruning.
 * `keep: N` keeps the N newest and removes the rest. Otherwise archives older than `maxAgeMs` are
 * removed, but the newest archive is always kept: a retention policy must never leave an operator
 * with no backup at all because the backups stopped (the usual reason they are all old).
 */
import { UsageError } from "../errors.ts";

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
  return sorted.map((archive, i) => {
    if (policy.keep !== undefined) {
      return i < policy.keep
        ? { archive, action: "keep", reason: `one of the ${policy.keep} newest` }
        : { archive, action: "delete", reason: `beyond the ${policy.keep} newest` };
    }
    if (i === 0) return { archive, action: "keep", reason: "newest archive (always kept)" };
    if (cutoff !== undefined && archive.time.getTime() < cutoff) {
      return { archive, action: "delete", reason: "older than the retention period" };
    }
    return { archive, action: "keep", reason: "within the retention period" };
  });
}
