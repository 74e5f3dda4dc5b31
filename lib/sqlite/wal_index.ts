/**
 * Reads the header of SQLite's WAL-index (the `-shm` file, https://www.sqlite.org/walformat.html#the_wal_index_file_format).
 * Its `iChange` counter goes up by one with every committed transaction and is left alone by
 * checkpoints and WAL resets, which lets the replicator prove that no transaction was committed
 * between the last frame it copied and a WAL reset done by someone else (an application's own
 * TRUNCATE checkpoint), instead of starting a new generation every time.
 *
 * SQLite writes the header twice (second copy first); a read is only trusted when both copies agree.
 */
import { openSync, readSync, statSync } from "node:fs";

/** The fields of the WAL-index header the replicator uses. */
export interface WalIndexHeader {
  /** Transactions committed (modulo 2^32). */
  iChange: number;
  /** Frames in the WAL that belong to committed transactions. */
  mxFrame: number;
  /** Salts of the current WAL, as the WAL header stores them (big-endian). */
  salt1: number;
  salt2: number;
}

const HDR = 48;
const WAL_INDEX_VERSION = 3007000;

function parseCopy(b: Uint8Array, off: number): WalIndexHeader | null {
  const v = new DataView(b.buffer, b.byteOffset + off, HDR);
  // The header is in the machine's byte order; find out which from the version field.
  const le = v.getUint32(0, true) === WAL_INDEX_VERSION;
  if (!le && v.getUint32(0, false) !== WAL_INDEX_VERSION) return null;
  if (b[off + 12] !== 1) return null; // isInit
  return {
    iChange: v.getUint32(8, le),
    mxFrame: v.getUint32(16, le),
    salt1: v.getUint32(32, false),
    salt2: v.getUint32(36, false),
  };
}

/** Parses the two header copies; null unless both are valid and identical. */
export function parseWalIndexHeader(b: Uint8Array): WalIndexHeader | null {
  if (b.length < 2 * HDR) return null;
  for (let i = 0; i < HDR; i++) if (b[i] !== b[HDR + i]) return null;
  return parseCopy(b, 0);
}

/**
 * Descriptors of `-shm` files, opened once and never closed. POSIX record locks belong to the
 * process, and closing *any* descriptor of a file drops *all* of the process's locks on it — our
 * SQLite connections' read and write locks on the WAL-index included. Opening and closing the file
 * per read silently released our write lock and let an application write over frames (caught by
 * the TRUNCATE test). SQLite itself defers closes for the same reason.
 */
const shmFds = new Map<string, { ino: number; fd: number }>();

function shmFd(shmPath: string): number | null {
  let ino: number;
  try {
    ino = statSync(shmPath).ino;
  } catch {
    return null;
  }
  const known = shmFds.get(shmPath);
  if (known && known.ino === ino) return known.fd;
  try {
    const fd = openSync(shmPath, "r");
    // A replaced file's old descriptor stays open (parked in no map): closing it would drop locks.
    shmFds.set(shmPath, { ino, fd });
    return fd;
  } catch {
    return null;
  }
}

/** Reads `<db>-shm`'s header, retrying a torn read a few times; null when unavailable. */
export function readWalIndexHeader(shmPath: string): WalIndexHeader | null {
  const fd = shmFd(shmPath);
  if (fd === null) return null;
  const buf = new Uint8Array(2 * HDR);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (readSync(fd, buf, 0, buf.length, 0) < buf.length) return null;
    const h = parseWalIndexHeader(buf);
    if (h) return h;
  }
  return null;
}
