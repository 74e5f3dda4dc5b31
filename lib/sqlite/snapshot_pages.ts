/**
 * Where each page of a pinned WAL-mode snapshot lives, as pure functions over SQLite's own bytes
 * (docs/sqlite-snapshot.md): the WAL-index (`-shm`) header the pinning connection saw, the frame
 * headers of the `-wal` up to its `mxFrame`, and page 1 of the result. A page is read from the last
 * frame ≤ mxFrame that holds it, else from the database file. Every inconsistency is an error here,
 * never a guess: a backup must not be assembled from pages SQLite would not have read.
 */
import { type FrameHeader, parseWalHeader, type WalHeader } from "./wal_format.ts";
import { parseWalIndexHeader, type WalIndexHeader } from "./wal_index.ts";

/** What the pinning connection's WAL-index header says about its snapshot. */
export type WalSnapshot = WalIndexHeader & { nBackfill: number };

/**
 * Parses {@link WAL_INDEX_CHECKPOINT_BYTES} of a `-shm`; null when the two header copies differ or the
 * header is not initialised (a writer was mid-update: read again).
 */
export function parseWalSnapshot(b: Uint8Array): WalSnapshot | null {
  const h = parseWalIndexHeader(b);
  return h?.nBackfill === undefined ? null : { ...h, nBackfill: h.nBackfill };
}

/** True when the database file alone holds the snapshot (every committed frame is checkpointed). */
export function fileHoldsSnapshot(s: WalSnapshot): boolean {
  return s.nBackfill >= s.mxFrame;
}

/**
 * Checks that the `-wal` header belongs to the snapshot (same salts and page size); returns it parsed,
 * else throws with the reason.
 */
export function checkWalHeader(bytes: Uint8Array, s: WalSnapshot): WalHeader {
  const h = parseWalHeader(bytes);
  if (!h) throw new Error("the -wal header is not valid");
  if (h.salt1 !== s.salt1 || h.salt2 !== s.salt2 || h.pageSize !== s.pageSize) {
    throw new Error("the -wal header does not belong to the pinned snapshot (salts or page size differ)");
  }
  return h;
}

/**
 * Maps page number → frame number (1-based) of the newest copy of each page among frames 1..mxFrame,
 * given their headers in order. The last frame must commit the snapshot's size.
 */
export function indexFrames(frames: Iterable<FrameHeader>, s: WalSnapshot): Map<number, number> {
  const map = new Map<number, number>();
  let n = 0;
  let last: FrameHeader | undefined;
  for (const fh of frames) {
    n++;
    if (fh.salt1 !== s.salt1 || fh.salt2 !== s.salt2) {
      throw new Error(`-wal frame ${n} does not belong to the pinned snapshot (salts differ)`);
    }
    if (fh.pageNo === 0) throw new Error(`-wal frame ${n} names page 0`);
    map.set(fh.pageNo, n);
    last = fh;
  }
  if (n !== s.mxFrame) throw new Error(`-wal has ${n} frames, the snapshot ${s.mxFrame}`);
  if (last && last.commitSize !== s.nPage) {
    throw new Error(
      `-wal frame ${n} is not the snapshot's commit (database size ${last.commitSize}, expected ${s.nPage})`,
    );
  }
  return map;
}

/** The page size a database header records (big-endian at offset 16, where 1 stands for 65536). */
export function headerPageSize(page1: Uint8Array): number {
  const raw = (page1[16] << 8) | page1[17];
  return raw === 1 ? 65536 : raw;
}

/**
 * Checks page 1 of an assembled database against the shape the pinning connection reported; returns
 * the problem in words, or null. The in-header size is compared only where SQLite trusts it (change
 * counter equal to version-valid-for).
 */
export function checkFirstPage(page1: Uint8Array, pageSize: number, pageCount: number): string | null {
  if (pageCount === 0) return null;
  if (page1.length < 100) return "page 1 is shorter than the database header";
  const magic = new TextDecoder().decode(page1.subarray(0, 16));
  if (magic !== "SQLite format 3\0") return "page 1 does not start with the SQLite header";
  const v = new DataView(page1.buffer, page1.byteOffset, 100);
  const size = headerPageSize(page1);
  if (size !== pageSize) return `page 1 says page size ${size}, the snapshot ${pageSize}`;
  if (v.getUint32(24) === v.getUint32(92) && v.getUint32(28) !== pageCount) {
    return `page 1 says ${v.getUint32(28)} pages, the snapshot ${pageCount}`;
  }
  return null;
}
