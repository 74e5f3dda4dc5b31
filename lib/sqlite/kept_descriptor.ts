/**
 * Read-only descriptors of a live database's files (the database, `-wal`, `-shm`), opened once per
 * file and never closed. POSIX record locks belong to the process, and closing *any* descriptor of a
 * file drops *all* of the process's locks on it — the read and write locks of every SQLite connection
 * in this process included (the replicator's, create's pin, a library user's own). Opening and closing
 * the `-shm` per read silently released the replicator's write lock and let an application write over
 * frames (caught by the TRUNCATE test). SQLite itself defers closes for the same reason.
 */
import { openSync, statSync } from "node:fs";

const kept = new Map<string, { ino: number; fd: number }>();

/** A descriptor of `path` open for reading, or null when it does not exist or cannot be opened. */
export function keptDescriptor(path: string): number | null {
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return null;
  }
  const known = kept.get(path);
  if (known && known.ino === ino) return known.fd;
  try {
    const fd = openSync(path, "r");
    // A replaced file's old descriptor stays open (in no map): closing it could drop locks.
    kept.set(path, { ino, fd });
    return fd;
  } catch {
    return null;
  }
}
