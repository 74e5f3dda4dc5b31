/**
 * Compresses dump pieces on a worker thread so that formatting the next piece (main thread, inside
 * SQLite) and compressing this one overlap on two cores, the way `sqlite3 .dump | gzip` overlaps in two
 * processes. The worker's code is passed as a string (`eval: true`), so it needs no separate file and
 * works unchanged under Deno, Bun and their compiled executables. Each piece becomes one gzip member,
 * byte-identical to what `gzipSync` on the main thread would produce.
 */
import { Worker } from "node:worker_threads";
import { gzipSync } from "node:zlib";

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { gzipSync } = require("node:zlib");
parentPort.on("message", (m) => {
  try {
    const out = gzipSync(m.data, { level: m.level });
    parentPort.postMessage({ id: m.id, data: out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});`;

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

/** Compression on one worker thread; falls back to the calling thread if no worker can start. */
export function workerGzip(level: number): GzipPieces {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true });
  } catch {
    return inlineGzip(level);
  }
  let nextId = 0;
  const waiting = new Map<number, { resolve(b: Uint8Array): void; reject(e: Error): void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (m: { id: number; data?: Uint8Array; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined || !m.data) w?.reject(new Error(`gzip worker: ${m.error}`));
    else w?.resolve(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  });
  worker.on("error", (err) => failAll(err instanceof Error ? err : new Error(String(err))));
  return {
    compress(piece) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        const owned = piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength;
        const data = owned ? piece : piece.slice();
        worker.postMessage({ id, level, data }, [data.buffer as ArrayBuffer]);
      });
    },
    async close() {
      failAll(new Error("gzip worker closed"));
      await worker.terminate();
    },
  };
}
