/**
 * What a sync does with the WAL it finds, as a pure function of what it observed. This is where
 * "continue", "the WAL restarted (new index)" and "continuity is lost (new generation)" are decided;
 * the I/O shell only gathers the facts and carries the verdict out.
 */
import { isNextRestart, sameWal, type WalHeader } from "./wal_format.ts";

/**
 * Proof, taken under our own write lock, that shadow index `index` held every committed frame of its
 * WAL when we restarted that WAL ourselves, and which salts the WAL that directly follows it has.
 */
export interface Seal {
  index: number;
  size: number;
  nextSalt1: number;
  nextSalt2: number;
}

/** Facts gathered by the shell before deciding. */
export interface SyncFacts {
  /** The current generation, or null when none exists yet. */
  generation: string | null;
  /** True when the database file is no longer the one we opened (inode or device changed). */
  dbReplaced: boolean;
  /** Header of the real WAL, or null when it is missing, short or invalid. */
  walHeader: WalHeader | null;
  /** Size in bytes of the real WAL file. */
  walSize: number;
  /** The shadow index being appended to, or null when there is none. */
  shadow: { index: number; header: WalHeader; size: number } | null;
  /** True when the real WAL still holds, at the shadow's last frame, the very frame the shadow holds. */
  anchorIntact: boolean;
  /** The last seal, if any (in memory only). */
  seal: Seal | null;
}

/** The verdict. */
export type SyncDecision =
  | { kind: "copy" }
  | { kind: "restart"; copyOldTail: boolean }
  | { kind: "new-generation"; reason: string };

/** Decides how to continue replication from the observed state. */
export function decideSync(f: SyncFacts): SyncDecision {
  if (f.generation === null || f.shadow === null) return { kind: "new-generation", reason: "no generation" };
  if (f.dbReplaced) return { kind: "new-generation", reason: "database file replaced" };
  if (f.walHeader === null) return { kind: "new-generation", reason: "wal missing or invalid" };
  const sh = f.shadow;
  if (f.walHeader.pageSize !== sh.header.pageSize) return { kind: "new-generation", reason: "page size changed" };
  if (sameWal(f.walHeader, sh.header)) {
    if (sh.size > f.walSize) return { kind: "new-generation", reason: "wal truncated by another process" };
    if (!f.anchorIntact) return { kind: "new-generation", reason: "wal overwritten by another process" };
    return { kind: "copy" };
  }
  // The WAL restarted. Continuity needs proof that no committed frame of the old WAL is lost.
  if (!isNextRestart(sh.header, f.walHeader)) {
    return { kind: "new-generation", reason: "wal restarted more than once or recreated by another process" };
  }
  const s = f.seal;
  if (
    s !== null && s.index === sh.index && s.size === sh.size && s.nextSalt1 === f.walHeader.salt1 &&
    s.nextSalt2 === f.walHeader.salt2
  ) {
    return { kind: "restart", copyOldTail: false };
  }
  // Old frames past our copy survive until the new WAL grows over them; the anchor shows it has not.
  if (f.anchorIntact && f.walSize >= sh.size) return { kind: "restart", copyOldTail: true };
  return { kind: "new-generation", reason: "wal reset by another process before its frames were copied" };
}
