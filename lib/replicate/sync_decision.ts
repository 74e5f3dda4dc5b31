/**
 * What a sync does with the WAL it finds, as a pure function of what it observed. This is where
 * "continue", "the WAL restarted (new index)" and "continuity is lost (new generation)" are decided;
 * the I/O shell only gathers the facts and carries the verdict out.
 */
import { frameSize, isNextRestart, sameWal, WAL_HEADER_SIZE, type WalHeader } from "../sqlite/wal_format.ts";
import type { WalIndexHeader } from "../sqlite/wal_index.ts";

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

/**
 * The seal after a copy: a new one when a WAL-index header read around the copy (`exact`) counted
 * exactly the shadow's frames of its WAL; else the last one while it still describes the shadow, for
 * it stays true until the shadow grows (what the WAL held when the count was N); else none. Dropping
 * a still-true seal because the WAL-index moved on during a copy of nothing (the WAL restarting at
 * that moment, which is when we pin again after letting a checkpoint through) left that restart
 * without proof: a new generation once the new WAL had grown over the shadow's end.
 */
export function nextSeal(
  last: Seal | null,
  shadow: { index: number; size: number; header: WalHeader },
  exact: Pick<WalIndexHeader, "iChange"> | null,
): Seal | null {
  const { index, size } = shadow;
  const salt1 = shadow.header.salt1;
  if (exact) return { index, size, salt1, iChange: exact.iChange };
  return last && last.index === index && last.size === size && last.salt1 === salt1 ? last : null;
}

/**
 * Whether a WAL that a TRUNCATE checkpoint emptied (no header until the next commit) may be left
 * alone until that commit: only when the seal proves the shadow holds every transaction the WAL-index
 * has counted. A commit made after our last copy and then checkpointed into the database file by that
 * TRUNCATE (a writer committing while we had let go of our pin for it) is in no WAL we can copy: it
 * must be judged now, not at a next commit that an idle application or a stop never makes.
 */
export function emptiedWalHoldsNothingNew(
  seal: Seal | null,
  shadow: { index: number; size: number; header: WalHeader },
  walIndex: Pick<WalIndexHeader, "iChange" | "mxFrame"> | null,
): boolean {
  if (!seal || !walIndex || walIndex.mxFrame !== 0) return false;
  if (seal.index !== shadow.index || seal.size !== shadow.size || seal.salt1 !== shadow.header.salt1) {
    return false;
  }
  return walIndex.iChange === seal.iChange;
}

/**
 * Whether a stop may end after a step: no commit that the WAL-index counted before it is missing from
 * the shadow. Yielding (unpinned), only when the WAL-index still describes our WAL and publishes no
 * frame past our copy. Pinned, the step copied all that was published in our WAL, so a WAL-index
 * that still describes it is enough; one that describes another WAL is a restart the step did not
 * follow: a TRUNCATE checkpoint between resetting the WAL-index and truncating the file (which still
 * starts with our WAL's header, so the step found nothing to copy), or a writer between the reset and
 * its first frame. The commits that restart took into the database file, if any, are judged by a
 * next step, unless the seal proves there are none.
 */
export function stopMayEnd(
  yielding: boolean,
  seal: Seal | null,
  shadow: { index: number; size: number; header: WalHeader },
  walIndex: WalIndexHeader | null,
): boolean {
  const limit = committedLimit(walIndex, shadow.header);
  if (yielding) return limit === shadow.size;
  return limit !== null || emptiedWalHoldsNothingNew(seal, shadow, walIndex);
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
  walIndex: Pick<WalIndexHeader, "iChange" | "mxFrame" | "salt1" | "salt2"> | null;
  /** Scan of the real WAL when its header differs from the shadow's (null otherwise). */
  newWal: NewWalScan | null;
}

/** The verdict. */
export type SyncDecision =
  | { kind: "copy" }
  | {
    kind: "restart";
    /** Copy the old WAL's frames past the shadow before following the new one. */
    copyOldTail: boolean;
    /**
     * With `copyOldTail`: exactly this many transactions of the old tail are proven committed (seal +
     * WAL-index count); absent when unproven (then only what the last mxFrame seen covers).
     */
    tailCommits?: number;
  }
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
  const tailCommits = provenTailCommits(f);
  if (tailCommits === 0) return { kind: "restart", copyOldTail: false };
  if (!isNextRestart(sh.header, f.walHeader)) {
    return { kind: "new-generation", reason: "wal restarted more than once or recreated by another process" };
  }
  // Old frames past our copy survive until the new WAL grows over them; the anchor shows it has not. A
  // shadow without a frame has no anchor: the new WAL's first frame is written over the old WAL's first.
  const unanchored = sh.size <= WAL_HEADER_SIZE && (f.newWal?.committedFrames ?? 0) > 0;
  if (f.anchorIntact && f.walSize >= sh.size && !unanchored) {
    return tailCommits === null
      ? { kind: "restart", copyOldTail: true }
      : { kind: "restart", copyOldTail: true, tailCommits };
  }
  return { kind: "new-generation", reason: "wal reset by another process before its frames were copied" };
}

/**
 * How many transactions were committed to the old WAL after our seal, when that is proven: the seal
 * covered the shadow's end, the WAL-index counts every transaction since (`iChange`), and those
 * not in the new WAL's published frames were in the old one. 0 means the reset lost nothing we
 * lack; null means no proof (no seal, an unreadable WAL-index, or more in the new WAL than counted).
 */
function provenTailCommits(f: SyncFacts): number | null {
  const { seal: s, shadow: sh, walIndex: wi, newWal: nw, walHeader: h } = f;
  if (!s || !sh || !wi || !nw || !h) return null;
  if (s.index !== sh.index || s.size !== sh.size || s.salt1 !== sh.header.salt1) return null;
  if (wi.salt1 !== h.salt1 || wi.salt2 !== h.salt2 || wi.mxFrame !== nw.committedFrames) return null;
  const k = ((wi.iChange - s.iChange) >>> 0) - nw.commits;
  return k >= 0 ? k : null;
}

/**
 * How far into the WAL described by `wal` a copy may go: the end of frame `mxFrame` of the
 * WAL-index, or null (copy nothing) when the index is unreadable or describes another WAL.
 *
 * A checksum-valid commit frame past `mxFrame` is not a commit: a writer killed between writing its
 * frames and publishing them in the WAL-index leaves exactly that, SQLite's readers never see it,
 * and the next writer overwrites it. Only the WAL-index says what readers see.
 */
export function committedLimit(walIndex: WalIndexHeader | null, wal: WalHeader): number | null {
  if (!walIndex || walIndex.salt1 !== wal.salt1 || walIndex.salt2 !== wal.salt2) return null;
  return WAL_HEADER_SIZE + walIndex.mxFrame * frameSize(wal.pageSize);
}

/** Where the WAL-index stood: which WAL (its salts) and how many of its frames were published. */
export type WalIndexMark = Pick<WalIndexHeader, "mxFrame" | "salt1" | "salt2">;

/**
 * While we have let go of our pin for someone holding the write lock: whether we may pin again now,
 * without waiting for that lock. Waiting for it let a fast application restart the WAL twice before
 * we looked (its blocking checkpoint ran, it committed a WAL's worth, checkpointed again while
 * nobody read, and restarted it again): the commits of the WAL in between were only in the database
 * file, which only a new generation (a full snapshot) can ship.
 *
 * `letGo` is what the WAL-index showed when we let go. Yes once, since then, the WAL was restarted
 * (other salts), every frame of it is checkpointed (`nBackfill` = `mxFrame`), or more were published
 * (the holder was a writer, and it has committed). A checkpoint we made way for then no longer waits
 * for our read: a pin taken in a checkpointed WAL reads the database file alone (read mark 0), which
 * neither a FULL checkpoint nor the restart of RESTART/TRUNCATE waits for, while it keeps every later
 * checkpoint from copying frames back, so the WAL cannot be restarted again after commits until we
 * have looked; after a writer's commit, a pin holds up nothing it did not hold up before we let go.
 * Safety does not rest on this: {@link decideSync} still demands its proof.
 */
export function mayRepinWithoutLock(
  now: (WalIndexMark & Pick<WalIndexHeader, "nBackfill">) | null,
  letGo: WalIndexMark,
): boolean {
  if (now === null) return false;
  if (now.salt1 !== letGo.salt1 || now.salt2 !== letGo.salt2) return true;
  return now.mxFrame !== letGo.mxFrame || now.nBackfill === now.mxFrame;
}
