/**
 * Compresses dump pieces, each into one gzip member, on a worker thread, so that formatting the next
 * piece (main thread, inside SQLite) and compressing this one overlap on two cores, the way
 * `sqlite3 .dump | gzip` overlaps in two processes. The worker is the archive writer's
 * ({@link GzipWorkerPool} of one), so a member is byte-identical to what `gzipSync` would produce.
 */
import { gzipSync } from "node:zlib";
import { GzipWorkerPool } from "./gzip_workers.ts";

/** Something that turns pieces into gzip members. */
export interface GzipPieces {
  /** Compresses `piece` (whose buffer is handed over and must not be used afterwards). */
  compress(piece: Uint8Array): Promise<Uint8Array>;
  /** Stops the worker, if any. */
  close(): Promise<void>;
}

/** Compression on the calling thread (small dumps: a worker's start-up would cost more than it saves). */
export function inlineGzip(level: number): GzipPieces {
  return {
    compress: (piece) => Promise.resolve(gzipSync(piece, { level })),
    close: () => Promise.resolve(),
  };
}

/** Compression on one worker thread; on the calling thread if no worker can start. */
export function workerGzip(level: number): GzipPieces {
  const pool = new GzipWorkerPool(1);
  return {
    async compress(piece) {
      const owned = piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength;
      const block = owned ? piece : piece.slice();
      return (await pool.compress(block, block.length, level)).out;
    },
    close() {
      pool.close();
      return Promise.resolve();
    },
  };
}
