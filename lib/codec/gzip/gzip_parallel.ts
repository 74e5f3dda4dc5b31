/**
 * Parallel gzip, as pigz does it: the input is cut into fixed-size blocks, each block is deflated on
 * its own on a pool of worker threads (gzip_workers.ts), so blocks compress on every core at once,
 * and the results are written, in input order, each as a separate gzip member. RFC 1952 allows a file to be
 * a sequence of members, and every gzip reader (gzip, zcat, tar xzf, zlib) decompresses them as one
 * stream. An explicit {@link ParallelGzipWriter.cut} ends a member early, which lets the archive's
 * manifest sit alone in the first member so it can be read without touching the rest. Every member
 * carries its own length (member_length.ts), so readers can inflate them in parallel too.
 */
import { availableParallelism } from "node:os";
import { GzipWorkerPool, WORKER_QUEUE } from "./gzip_workers.ts";
import { withLengthSubfield } from "./member_length.ts";

/** Tuning for {@link ParallelGzipWriter}. */
export interface ParallelGzipOptions {
  /**
   * Deflate level 1..9; default 6, the same as `gzip` and `tar czf`. Members are made by libdeflate where
   * the runtime has it (gzip_workers.ts).
   */
  level?: number;
  /**
   * Uncompressed bytes per member; default 64 KiB. Smaller blocks cost almost no ratio (400 MiB
   * database: 154.5 MiB at 64 KiB, 154.3 MiB at 128 KiB; gzip -6: 161.3 MiB) and keep peak RSS down,
   * because buffers below glibc's 128 KiB mmap threshold are recycled by the allocator instead of
   * piling up per thread (same run: 114 MiB peak at 64 KiB, 134 MiB at 128 KiB, up to 205 at 1 MiB).
   */
  blockSize?: number;
  /** Worker threads; default one per core but one, with the calling thread helping (0: in-thread only). */
  workers?: number;
}

/** Writes gzip members to `out`, compressing up to `concurrency` blocks in parallel. */
export class ParallelGzipWriter {
  #out: WritableStreamDefaultWriter<Uint8Array>;
  #level: number;
  #blockSize: number;
  #concurrency: number;
  #pool: GzipWorkerPool;
  #block: Uint8Array;
  #fill = 0;
  #inFlight: Promise<Uint8Array>[] = [];
  /** Input blocks whose compression finished, reused so memory stays flat without waiting for GC. */
  #free: Uint8Array[] = [];
  /** Uncompressed bytes accepted so far. */
  bytesIn = 0;
  /** Compressed bytes handed to the output so far. */
  bytesOut = 0;

  constructor(out: WritableStreamDefaultWriter<Uint8Array>, opts: ParallelGzipOptions = {}) {
    this.#out = out;
    this.#level = opts.level ?? 6;
    this.#blockSize = opts.blockSize ?? 64 * 1024;
    // One thread per core: the calling thread counts as one (it compresses when every worker's
    // queue is full). Capped: each worker costs ~15 MiB of RSS, and 8 already outrun most disks.
    const workers = opts.workers ?? Math.max(1, Math.min(availableParallelism(), 8) - 1);
    this.#pool = new GzipWorkerPool(workers, opts.workers === undefined, "fastest");
    // Every worker's queue full, plus one block per worker finished by the calling thread and waiting
    // its turn in the output order: fewer, and the calling thread waits for a worker instead of helping.
    this.#concurrency = (WORKER_QUEUE + 1) * workers + 1;
    this.#block = new Uint8Array(this.#blockSize);
  }

  /** Adds bytes; resolves when they are buffered or handed to a compressor. */
  async write(chunk: Uint8Array): Promise<void> {
    this.bytesIn += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(chunk.length - off, this.#blockSize - this.#fill);
      this.#block.set(chunk.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === this.#blockSize) await this.cut();
    }
  }

  /** Ends the current member (if it has any data), so the next byte starts a new one. */
  async cut(): Promise<void> {
    if (this.#fill === 0) return;
    const block = this.#block;
    const data = block.subarray(0, this.#fill);
    this.#block = this.#free.pop() ?? new Uint8Array(this.#blockSize);
    this.#fill = 0;
    const job = this.#pool.compress(block, data.length, this.#level).then((r) => {
      this.#free.push(r.block);
      return withLengthSubfield(r.out);
    });
    // Rejections are observed when the job is drained; this only keeps them from being "unhandled".
    job.catch(() => {});
    this.#inFlight.push(job);
    while (this.#inFlight.length >= this.#concurrency) await this.#drainOne();
  }

  async #drainOne(): Promise<void> {
    const out = await this.#inFlight.shift()!;
    this.bytesOut += out.length;
    await this.#out.write(out);
  }

  /** Compresses what is buffered and writes every pending member, in order. Does not close `out`. */
  async flush(): Promise<void> {
    await this.cut();
    while (this.#inFlight.length > 0) await this.#drainOne();
  }

  /** Stops the worker threads. Call once done (also after a failure). */
  close(): void {
    this.#pool.close();
  }
}
