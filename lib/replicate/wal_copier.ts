/**
 * Copies whole committed transactions from a WAL file into a shadow WAL file. Frames are validated
 * (salts and the checksum chain) exactly as SQLite's recovery validates them, and only bytes up to
 * the last commit frame are kept, so the shadow WAL never holds half a transaction. Memory use is
 * one chunk, whatever the transaction size.
 */
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { setImmediate } from "node:timers";
import { toVigoError } from "../errors.ts";
import { fsyncFd } from "../fsutil/atomic_file.ts";
import { frameSize, scanFrames, type WalHeader } from "../sqlite/wal_format.ts";

/** Frames read per chunk (~1 MiB at 4 KiB pages). */
const CHUNK_FRAMES = 256;
/** Chunks between two turns of the event loop during a walk (~64 MiB at 4 KiB pages). */
const YIELD_CHUNKS = 64;

/**
 * The read buffer of the last walk, kept for the next: a replicator walks the WAL every tick, and a
 * fresh megabyte each time is most of its garbage (README, performance). A walk takes it exclusively,
 * so concurrent walks (several replicators in one process) each use their own.
 */
let spare: Uint8Array | null = null;

/** Where a frame-chain walk ended. */
export interface ChainEnd {
  /** Offset just past the last commit frame (≥ the start offset). */
  committedEnd: number;
  /** Running checksum at `committedEnd`. */
  checksum: [number, number];
  /** Transactions (commit frames) between the start offset and `committedEnd`. */
  commits: number;
}

/**
 * Reads the file at `path` from `start` (a frame boundary whose running checksum is `checksum`),
 * calling `onChunk(bytes, offset)` for every chunk of valid frames, and returns where the last
 * commit frame ends. Stops at the first invalid frame, at end of file, at byte `limit` or after
 * `maxCommits` commit frames.
 */
export async function walkFrames(
  path: string,
  hdr: WalHeader,
  start: number,
  checksum: [number, number],
  onChunk?: (bytes: Uint8Array, offset: number) => void,
  limit = Infinity,
  maxCommits = Infinity,
): Promise<ChainEnd> {
  const fs = frameSize(hdr.pageSize);
  let end: ChainEnd = { committedEnd: start, checksum, commits: 0 };
  // Most ticks of an idle replicator find nothing new: no open, no buffer (README, performance).
  if (limit - start < fs) return end;
  const bufSize = fs * Math.min(CHUNK_FRAMES, Math.ceil((limit - start) / fs));
  const buf = spare !== null && spare.length >= bufSize ? spare : new Uint8Array(bufSize);
  if (buf === spare) spare = null;
  const fd = openSync(path, "r");
  let commits = 0;
  try {
    let offset = start;
    let running = checksum;
    let chunks = 0;
    for (;;) {
      // bufSize, not buf.length: a spare from a walk at another page size is no whole number of this
      // WAL's frames, and every read then came up "short" of it, ending the walk after its first chunk
      // (a WAL restart's proof then failed: a new generation every few seconds; found by review).
      const want = Math.min(bufSize, Math.max(0, limit - offset));
      if (want < fs) break;
      const bytesRead = readSync(fd, buf, 0, want, offset);
      const whole = bytesRead - (bytesRead % fs);
      if (whole === 0) break;
      const scan = scanFrames(hdr, running, buf.subarray(0, whole), maxCommits - commits);
      if (scan.validBytes > 0 && onChunk) onChunk(buf.subarray(0, scan.validBytes), offset);
      commits += scan.commits;
      if (scan.committedBytes > 0) {
        end = { committedEnd: offset + scan.committedBytes, checksum: scan.committedChecksum, commits };
      }
      if (scan.stoppedAtInvalid || whole < want || commits >= maxCommits) break;
      offset += scan.validBytes;
      running = scan.validChecksum;
      // Reads and writes hit the page cache and are synchronous (README, performance); a long walk
      // still lets the event loop (signals, the status page) in every few dozen megabytes.
      if (++chunks % YIELD_CHUNKS === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    if (spare === null || buf.length > spare.length) spare = buf;
    closeSync(fd);
  }
  return end;
}

/**
 * Appends the committed frames of `walPath` that follow `start`, up to byte `limit` (the end of the
 * WAL-index's mxFrame) or `maxCommits` transactions, to `shadowPath` (whose committed size is `start`), truncates away any
 * uncommitted tail and fsyncs. Returns the new committed end.
 * Bytes past the previous end are written tentatively and only kept up to the last commit, so a
 * crash mid-copy leaves at worst an uncommitted tail that {@link walkFrames} trims on restart.
 */
export async function copyCommittedFrames(
  walPath: string,
  shadowPath: string,
  hdr: WalHeader,
  start: number,
  checksum: [number, number],
  limit: number,
  maxCommits = Infinity,
): Promise<ChainEnd> {
  // Opened at the first valid frame: a walk that finds nothing new (most idle ticks) touches no shadow.
  let out: number | undefined;
  try {
    const end = await walkFrames(
      walPath,
      hdr,
      start,
      checksum,
      (bytes, offset) => {
        try {
          out ??= openSync(shadowPath, "r+");
          for (let n = 0; n < bytes.length;) n += writeSync(out, bytes, n, bytes.length - n, offset + n);
        } catch (err) {
          // Named: the bare errno ("no space left on device, write") did not say that the disk full
          // was the database's (the shadow WAL lives beside it), not the replica's.
          throw toVigoError(err, shadowPath);
        }
      },
      limit,
      maxCommits,
    );
    if (out !== undefined) {
      try {
        ftruncateSync(out, end.committedEnd);
        if (end.committedEnd > start) await fsyncFd(out);
      } catch (err) {
        throw toVigoError(err, shadowPath);
      }
    }
    return end;
  } finally {
    if (out !== undefined) closeSync(out);
  }
}

/**
 * Reads `length` bytes at `offset`, or null when the file is shorter or missing. Synchronous on purpose:
 * a few bytes from the page cache take microseconds, and every tick of an idle replicator makes such
 * reads, where an async open/read/close costs a thread-pool round trip each (README, performance).
 */
export function readAtSync(path: string, offset: number, length: number): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const buf = new Uint8Array(length);
    return readSync(fd, buf, 0, length, offset) === length ? buf : null;
  } finally {
    closeSync(fd);
  }
}
