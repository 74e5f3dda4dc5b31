/**
 * Reads the header of SQLite's WAL-index (the `-shm` file, https://www.sqlite.org/walformat.html#the_wal_index_file_format).
 * Its `iChange` counter goes up by one with every committed transaction and is left alone by
 * checkpoints and WAL resets, which lets the replicator prove that no transaction was committed
 * between the last frame it copied and a WAL reset done by someone else (an application's own
 * TRUNCATE checkpoint), instead of starting a new generation every time.
 *
 * SQLite writes the header twice (second copy first); a read is only trusted when both copies agree.
 */
import { readSync } from "node:fs";
import { keptDescriptor } from "./kept_descriptor.ts";

/** The fields of the WAL-index header the replicator and create's page reader use. */
export interface WalIndexHeader {
  /** Transactions committed (modulo 2^32). */
  iChange: number;
  /** Frames in the WAL that belong to committed transactions. */
  mxFrame: number;
  /** Database size in pages after the commit at mxFrame. */
  nPage: number;
  pageSize: number;
  /** Salts of the current WAL, as the WAL header stores them (big-endian). */
  salt1: number;
  salt2: number;
  /**
   * The checkpoint info's nBackfill (frames already copied into the database file), when the bytes
   * parsed reach it ({@link WAL_INDEX_CHECKPOINT_BYTES}).
   */
  nBackfill?: number;
}

const HDR = 48;
const WAL_INDEX_VERSION = 3007000;
/** Both header copies and the checkpoint info's first field, nBackfill. */
export const WAL_INDEX_CHECKPOINT_BYTES = 2 * HDR + 4;

/**
 * Parses the two header copies (and nBackfill, when `b` reaches it); null unless both copies are
 * valid and identical.
 */
export function parseWalIndexHeader(b: Uint8Array): WalIndexHeader | null {
  if (b.length < 2 * HDR) return null;
  for (let i = 0; i < HDR; i++) if (b[i] !== b[HDR + i]) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // The header is in the machine's byte order; find out which from the version field.
  const le = v.getUint32(0, true) === WAL_INDEX_VERSION;
  if (!le && v.getUint32(0, false) !== WAL_INDEX_VERSION) return null;
  if (b[12] !== 1) return null; // isInit
  const sz = v.getUint16(14, le);
  return {
    iChange: v.getUint32(8, le),
    mxFrame: v.getUint32(16, le),
    nPage: v.getUint32(20, le),
    // 65536 does not fit in 16 bits: SQLite stores (size & 0xff00) | (size >> 16), i.e. 1.
    pageSize: (sz & 0xff00) | ((sz & 1) << 16),
    salt1: v.getUint32(32, false),
    salt2: v.getUint32(36, false),
    ...(b.length >= WAL_INDEX_CHECKPOINT_BYTES ? { nBackfill: v.getUint32(2 * HDR, le) } : {}),
  };
}

/** Reads `<db>-shm`'s header and nBackfill, retrying a torn read a few times; null when unavailable. */
export function readWalIndexHeader(shmPath: string): WalIndexHeader | null {
  const fd = keptDescriptor(shmPath);
  if (fd === null) return null;
  const buf = new Uint8Array(WAL_INDEX_CHECKPOINT_BYTES);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (readSync(fd, buf, 0, buf.length, 0) < buf.length) return null;
    const h = parseWalIndexHeader(buf);
    if (h) return h;
  }
  return null;
}
