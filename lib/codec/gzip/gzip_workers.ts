/**
 * A pool of worker threads that each turn a block into one complete gzip member. Needed because
 * node:zlib's asynchronous calls compress on the main thread under Deno (they only reach a thread
 * pool under Node and Bun), so parallelism has to come from workers. The worker source is inlined
 * (inline_worker.ts), so `deno compile` and `bun build --compile` need no extra file; where workers are
 * unavailable the pool compresses in-thread with zlib and stays correct, only slower.
 */
import zlib from "node:zlib";
import { inlineWorker } from "../inline_worker.ts";
import { bunRuntime } from "./bun_runtime.ts";

// The worker's copy of gzipMember() below (a worker runs from source text and cannot import it).
const WORKER_SOURCE = `
import { gzipSync } from "node:zlib";
const libdeflate = typeof Bun !== "undefined" && typeof Bun.gzipSync === "function";
const gzipMember = (data, level, engine) => engine === "fastest" && libdeflate
  ? Bun.gzipSync(data, { level, library: "libdeflate" })
  : gzipSync(data, { level });
self.onmessage = (event) => {
  const { id, block, length, level, engine } = event.data;
  try {
    const z = gzipMember(block.subarray(0, length), level, engine);
    // zlib may return a view into a shared pool buffer: copy unless it owns its whole buffer.
    const out = z.byteOffset === 0 && z.byteLength === z.buffer.byteLength
      ? new Uint8Array(z.buffer)
      : new Uint8Array(z);
    self.postMessage({ id, out, block }, [out.buffer, block.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message || err), block }, [block.buffer]);
  }
};
`;

/**
 * Blocks a worker holds (compressing one, the rest waiting) before the calling thread compresses one
 * itself. With one, a worker sat idle from finishing a block until the calling thread came back to
 * its event loop: 30 % of the time in `backup create` on 2 cores. Queues of 2 to 6 measured within
 * noise of each other, 3 at the low end (README, performance decisions).
 */
export const WORKER_QUEUE = 3;

/** One compressed block, with the (transferred back) input block for reuse. */
export interface CompressedBlock {
  out: Uint8Array;
  block: Uint8Array;
}

interface Job {
  resolve: (r: CompressedBlock) => void;
  reject: (e: Error) => void;
}

/**
 * Which deflate makes the members: "zlib" everywhere (byte-reproducible across runtimes: dumps need
 * that), or "fastest": libdeflate where the runtime carries it (Bun, so the executables) — at level 6
 * faster than zlib and its output smaller (README, performance decisions) — else zlib. Every gzip
 * reader inflates either.
 */
export type GzipEngine = "zlib" | "fastest";

/** Compresses blocks on `size` worker threads. */
export class GzipWorkerPool {
  #workers: { worker: Worker; busy: number }[] = [];
  #jobs = new Map<number, Job>();
  #nextId = 0;

  /**
   * @param size worker threads
   * @param assist also compress on the calling thread when all workers are busy
   * @param engine see {@link GzipEngine}
   */
  constructor(size: number, readonly assist = false, readonly engine: GzipEngine = "zlib") {
    for (let i = 0; i < size; i++) {
      const worker = inlineWorker(WORKER_SOURCE);
      if (!worker) {
        this.close();
        return;
      }
      const slot = { worker, busy: 0 };
      worker.onmessage = (event: MessageEvent) => this.#settle(slot, event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#failAll(new Error(`gzip worker failed: ${event.message}`));
      };
      this.#workers.push(slot);
    }
  }

  /** Compresses `block.subarray(0, length)`. The block is transferred away until the promise settles. */
  compress(block: Uint8Array, length: number, level: number): Promise<CompressedBlock> {
    if (this.#workers.length === 0) return compressInThread(block, length, level, this.engine);
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    // The calling thread lends a hand when every worker's queue is full, rather than wait; that saves
    // running one more worker (~15 MiB of RSS each). The queue keeps a worker busy while the calling
    // thread compresses a block of its own or hashes and frames input.
    if (this.assist && slot.busy >= WORKER_QUEUE) {
      return Promise.resolve(compressHere(block, length, level, this.engine));
    }
    const id = this.#nextId++;
    slot.busy++;
    return new Promise<CompressedBlock>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, block, length, level, engine: this.engine }, [
        block.buffer as ArrayBuffer,
      ]);
    });
  }

  #settle(slot: { busy: number }, msg: { id: number; out?: Uint8Array; block: Uint8Array; error?: string }) {
    slot.busy--;
    const job = this.#jobs.get(msg.id);
    this.#jobs.delete(msg.id);
    if (!job) return;
    if (msg.error !== undefined) job.reject(new Error(`gzip: ${msg.error}`));
    else job.resolve({ out: msg.out!, block: msg.block });
  }

  #failAll(err: Error) {
    for (const job of this.#jobs.values()) job.reject(err);
    this.#jobs.clear();
  }

  /** Stops the workers (pending jobs fail). */
  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#workers = [];
    this.#failAll(new Error("gzip worker pool closed"));
  }
}

/** One complete gzip member of `data`, made by `engine` ({@link GzipEngine}). */
function gzipMember(data: Uint8Array, level: number, engine: GzipEngine): Uint8Array {
  if (engine === "fastest" && bunRuntime?.gzipSync) {
    return bunRuntime.gzipSync(data, { level, library: "libdeflate" });
  }
  return zlib.gzipSync(data, { level });
}

function compressHere(block: Uint8Array, length: number, level: number, engine: GzipEngine): CompressedBlock {
  const z = gzipMember(block.subarray(0, length), level, engine);
  return { out: new Uint8Array(z.buffer, z.byteOffset, z.byteLength), block };
}

function compressInThread(
  block: Uint8Array,
  length: number,
  level: number,
  engine: GzipEngine,
): Promise<CompressedBlock> {
  // libdeflate has no asynchronous call; zlib's may at least reach a thread pool.
  if (engine === "fastest" && bunRuntime?.gzipSync) {
    return Promise.resolve(compressHere(block, length, level, engine));
  }
  return new Promise((resolve, reject) => {
    zlib.gzip(block.subarray(0, length), { level }, (err, z) => {
      if (err) reject(err);
      else resolve({ out: new Uint8Array(z.buffer, z.byteOffset, z.byteLength), block });
    });
  });
}
