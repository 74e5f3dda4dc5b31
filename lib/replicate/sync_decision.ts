/**
 * What a sync does with the WAL it finds, as a pure function of what it observed. This is where
 * "continue", "the WAL restarted (new index)" and "continuity is lost (new generation)" are decided;
 * the I/O shell only gathers the facts and carries the verdict out.
 */
import { isNextRestart, sameWal, type WalHeader } from "./wal_format.ts";
import type { WalIndexHeader } from "./wal_index.ts";

/**
 * Proof that shadow index `index`, at `size` bytes, held exactly the committed frames of its WAL
 * when the WAL-index counted `iChange` transactions.
 */
export interface Seal {
  index: number;
  size: number;
  salt1: number;
  iChange: number;
}

/** The new WAL after a restart, as scanned: committed frames and transactions in it. */
export interface NewWalScan {
  committedFrames: number;
  commits: number;
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
  /** The WAL-index header now (null when unreadable). */
  walIndex: WalIndexHeader | null;
  /** Scan of the real WAL when its header differs from the shadow's (null otherwise). */
  newWal: NewWalScan | null;
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
  if (f.walHeader.pageSize !== sh.header.pageSize) {
    return { kind: "new-generation", reason: "page size changed" };
  }
  if (sameWal(f.walHeader, sh.header)) {
    if (sh.size > f.walSize) return { kind: "new-generation", reason: "wal truncated by another process" };
    if (!f.anchorIntact) return { kind: "new-generation", reason: "wal overwritten by another process" };
    return { kind: "copy" };
  }
  // The WAL restarted. Continuity needs proof that no committed frame of the old WAL is lost.
  if (resetProven(f)) return { kind: "restart", copyOldTail: false };
  if (!isNextRestart(sh.header, f.walHeader)) {
    return { kind: "new-generation", reason: "wal restarted more than once or recreated by another process" };
  }
  // Old frames past our copy survive until the new WAL grows over them; the anchor shows it has not.
  if (f.anchorIntact && f.walSize >= sh.size) return { kind: "restart", copyOldTail: true };
  return { kind: "new-generation", reason: "wal reset by another process before its frames were copied" };
}

/**
 * A reset by anyone is lossless when our seal covered the old WAL and every transaction committed
 * since the seal (the WAL-index counts them) is in the new WAL.
 */
function resetProven(f: SyncFacts): boolean {
  const { seal: s, shadow: sh, walIndex: wi, newWal: nw, walHeader: h } = f;
  if (!s || !sh || !wi || !nw || !h) return false;
  if (s.index !== sh.index || s.size !== sh.size || s.salt1 !== sh.header.salt1) return false;
  if (wi.salt1 !== h.salt1 || wi.salt2 !== h.salt2 || wi.mxFrame !== nw.committedFrames) return false;
  return ((wi.iChange - s.iChange) >>> 0) === nw.commits;
}
