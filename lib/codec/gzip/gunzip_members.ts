/**
 * Decompresses a gzip stream whose members say their own length (member_length.ts), inflating many
 * members at once on worker threads, as pigz compresses them. One zlib stream inflates on one core,
 * and reading an archive (restore, verify) was bound by it: here the members are cut apart on the
 * calling thread, gathered into batches, inflated by a pool of workers and put back in order.
 * Without threads (inspect, which reads only the manifest; or where workers cannot start) each sized
 * member is inflated whole on the calling thread as soon as it is read. What neither can take — a member
 * bigger than the writer makes, a member without the length (any stream from another writer) — is
 * inflated in order, streamed, by gunzip_stream.ts, so every valid gzip stream reads.
 */
import { availableParallelism } from "node:os";
import { ByteQueue } from "../byte_queue.ts";
import { CodecError } from "../codec_error.ts";
import { gunzipSequential } from "./gunzip_stream.ts";
import { inflateMember, InflateWorkerPool, type MemberSpans } from "./inflate_workers.ts";
import { headerCrcProblem, inflatedSize, readMemberHead } from "./member_length.ts";
import { bunRuntime } from "./bun_runtime.ts";

/** Compressed bytes gathered into one batch for a worker. */
const BATCH_BYTES = 256 * 1024;
/**
 * Batches in flight per worker. With one, a worker that finished its batch waited while this thread
 * hashed and wrote the batch before it. With two, restore of 1 GiB + 10,000 files (two workers) took
 * 5.16 s (median, 5.05–5.70) against 5.54 s (5.16–5.96; 9 rounds alternating, stop 32), for ~1 MiB
 * more per worker.
 */
const BATCHES_PER_WORKER = 2;
/**
 * Largest member the fast path takes, and the inflated size its trailer may state. The writer's
 * members hold ≤ 64 KiB, stored or compressed, so 96 KiB is never reached by an archive of ours; the
 * cap bounds what a crafted member can make libdeflate allocate before it is rejected (deflate expands
 * at most ~1032-fold: ~100 MiB).
 */
const MAX_MEMBER = 96 * 1024;
const MAX_INFLATED = 1024 * 1024;
/** Input bytes handed to a streamed inflate at a time. */
const PIECE = 256 * 1024;
/**
 * Inflated bytes between two forced collections, where the runtime offers one (Bun). The batches
 * come back from the workers as transferred buffers, which Bun's collector does not count towards
 * its next collection, so they piled up for as long as the stream lasted: `backup verify`'s peak RSS
 * was 121–129 MiB at 1 GiB and 126–158 MiB at 8 GiB (from sources, 6 runs each). A full collection
 * every 64 MiB costs ~3 ms (about 1 % of this thread) and keeps the peak flat: 111–117 against
 * 119–123 MiB. Every 256 MiB still reached 152 MiB at 8 GiB, and the non-blocking collection 141.
 */
const COLLECT_EVERY = 64 * 1024 * 1024;

/** Options of {@link gunzip}. */
export interface GunzipOptions {
  /** Inflate streamed members on a worker (where zlib would inflate on the calling thread). */
  onWorker?: boolean;
  /**
   * Worker threads for sized members; default one per core but one (the calling thread's: it hashes
   * and writes what they inflate), at least 1 and at most 4 (beyond that, hashing and writing on the
   * calling thread are the limit). On 2 cores one worker instead of two: restore of 1 GiB + 10,000
   * files 4.58 s (median, 4.46–4.87) against 4.73 s (4.45–5.03; 9 rounds alternating, stop 32),
   * verify 4.36 against 4.52 s (5 rounds), 256 MiB unchanged. 0: no thread started; each member is
   * inflated on the calling thread once it has been read, nothing ahead of it.
   */
  workers?: number;
}

const fail = (message: string, cause?: unknown) =>
  new CodecError(`not a valid gzip stream (${message})`, { cause });

/** Decompresses a (possibly multi-member) gzip stream. Corrupt or truncated input errors the stream. */
export function gunzip(
  input: ReadableStream<Uint8Array>,
  opts: GunzipOptions = {},
): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const run = new MemberRun(reader, opts);
  const chunks = run.chunks();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Errors of the input (a decrypting stream's) pass through as they are; ours are CodecErrors.
      const { value, done } = await chunks.next().catch((err) => {
        run.stop();
        throw err;
      });
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      run.stop();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

interface Batch {
  done: boolean;
  result: Promise<Uint8Array>;
}

/** One pass over the input: the state shared by the member loop and its streamed inflates. */
class MemberRun {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #opts: GunzipOptions;
  #queue = new ByteQueue();
  #inputDone = false;
  #pool: InflateWorkerPool | undefined;
  #pending: Batch[] = [];
  #free: Uint8Array[] = [];
  #batch: Uint8Array | undefined;
  #spans: MemberSpans = [];
  #used = 0;
  #total = 0;
  #sinceCollection = 0;
  #stopped = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, opts: GunzipOptions) {
    this.#reader = reader;
    this.#opts = opts;
  }

  /** Reads until `n` bytes are queued; false when the input ended first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#queue.length < n && !this.#inputDone) {
      const { value, done } = await this.#reader.read();
      if (done) this.#inputDone = true;
      else this.#queue.push(value);
    }
    return this.#queue.length >= n;
  }

  /** The decompressed stream, chunk by chunk. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      if (!await this.#fill(1)) throw fail("empty input");
      for (let member = 1;; member++) {
        if (!await this.#fill(1)) break;
        if (member > 1 && this.#queue.peek(0) === 0) {
          // zlib's rule, which the unsized path below follows: a zero byte where the next member
          // would start ends the stream, and the rest of the input is read and ignored.
          await this.#discardRest();
          break;
        }
        const head = await this.#head();
        if (head.kind === "unsized") {
          // No length: the rest is one stream to inflate in order.
          yield* this.#drain(0);
          yield* this.#streamed(Infinity);
          return;
        }
        const here = !this.#startPool();
        const length = head.length;
        // Only a member small enough to hold is gathered before it is inflated.
        const whole = length <= MAX_MEMBER && await this.#fill(length);
        if (!whole && length <= MAX_MEMBER) throw fail(`truncated inside member ${member}`);
        if (!whole || this.#inflatedSize(length) > MAX_INFLATED) {
          yield* this.#drain(0);
          yield* this.#streamed(length);
          continue;
        }
        const inflated = this.#inflatedSize(length);
        this.#checkHeaderCrc(length, member);
        if (here) {
          // A whole member in one call: inspect's manifest (2.35 MB for 10,000 entries) took 10–13 ms
          // through the streamed inflater, in ~50 pieces.
          const out = this.#inflateHere(length, inflated);
          if (out.length > 0) yield out;
          continue;
        }
        if (this.#used + length > BATCH_BYTES) this.#dispatch();
        this.#batch ??= this.#free.pop() ?? new Uint8Array(BATCH_BYTES);
        this.#queue.takeInto(length, this.#batch, this.#used);
        this.#spans.push(this.#used, length, inflated);
        this.#used += length;
        this.#total += inflated;
        yield* this.#drain(this.#pool!.size * BATCHES_PER_WORKER);
      }
      yield* this.#drain(0);
    } finally {
      this.stop();
    }
  }

  /** Reads the member header at the queue's front, as far as its length subfield. */
  async #head() {
    for (let have = 10;;) {
      const known = Math.min(have, this.#queue.length);
      const bytes = new Uint8Array(known);
      for (let i = 0; i < known; i++) bytes[i] = this.#queue.peek(i);
      let head;
      try {
        head = readMemberHead(bytes);
      } catch (err) {
        throw fail((err as Error).message);
      }
      if (head.kind !== "more") return head;
      if (!await this.#fill(head.need)) throw fail("truncated inside a member header");
      have = head.need;
    }
  }

  /** Reads the rest of the input and drops it. */
  async #discardRest(): Promise<void> {
    this.#queue.skip(this.#queue.length);
    while (!this.#inputDone) {
      const { done } = await this.#reader.read();
      if (done) this.#inputDone = true;
    }
  }

  /**
   * Refuses a queued whole member of `length` bytes whose header CRC is wrong: libdeflate, which
   * inflates these under Bun, does not check it (zlib, on the streamed path, does).
   */
  #checkHeaderCrc(length: number, member: number): void {
    if (!(this.#queue.peek(3) & 0x02)) return; // FLG.FHCRC: our writer never sets it
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.#queue.peek(i);
    const problem = headerCrcProblem(bytes);
    if (problem) throw fail(`member ${member}: ${problem}`);
  }

  /** ISIZE of the queued member of `length` bytes. */
  #inflatedSize(length: number): number {
    const trailerEnd = new Uint8Array(4);
    for (let i = 0; i < 4; i++) trailerEnd[i] = this.#queue.peek(length - 4 + i);
    return inflatedSize(trailerEnd);
  }

  /** True when worker threads are running (started at the first sized member; none for `workers: 0`). */
  #startPool(): boolean {
    if (!this.#pool) {
      const size = this.#opts.workers ?? Math.max(1, Math.min(availableParallelism() - 1, 4));
      this.#pool = new InflateWorkerPool(size);
    }
    return this.#pool.size > 0;
  }

  /** Inflates the queued member of `length` bytes, whose trailer says `inflated`, on this thread. */
  #inflateHere(length: number, inflated: number): Uint8Array {
    try {
      return inflateMember(this.#queue.take(length), inflated);
    } catch (err) {
      throw fail((err as Error).message, err);
    }
  }

  /** Hands the gathered batch to a worker. */
  #dispatch(): void {
    if (!this.#batch || this.#used === 0) return;
    const job: Batch = { done: false, result: Promise.resolve(new Uint8Array(0)) };
    job.result = this.#pool!.inflate(this.#batch, this.#spans, this.#total).then(({ out, batch }) => {
      this.#free.push(batch);
      return out;
    }).finally(() => (job.done = true));
    job.result.catch(() => {}); // observed when drained
    this.#pending.push(job);
    this.#batch = undefined;
    this.#spans = [];
    this.#used = 0;
    this.#total = 0;
  }

  /** Yields inflated batches, oldest first: every finished one, then waits until ≤ `keep` are pending. */
  async *#drain(keep: number): AsyncGenerator<Uint8Array> {
    if (keep === 0) this.#dispatch();
    while (this.#pending.length > 0 && (this.#pending[0].done || this.#pending.length > keep)) {
      const out = await this.#pending.shift()!.result.catch((err) => {
        throw fail((err as Error).message, err);
      });
      if (out.length === 0) continue;
      this.#sinceCollection += out.length;
      if (this.#sinceCollection >= COLLECT_EVERY && bunRuntime?.gc) {
        this.#sinceCollection = 0;
        bunRuntime.gc(true);
      }
      yield out;
    }
  }

  /** Inflates the next `length` bytes (all that is left for Infinity) in order, streamed. */
  async *#streamed(length: number): AsyncGenerator<Uint8Array> {
    let left = length;
    const input = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (left === 0 || !await this.#fill(1)) {
          if (left !== Infinity && left > 0) controller.error(fail("truncated inside a member"));
          else controller.close();
          return;
        }
        const piece = this.#queue.takeSome(Math.min(left, PIECE));
        left -= piece.length;
        controller.enqueue(piece);
      },
    }, { highWaterMark: 0 });
    const reader = gunzipSequential(input, { onWorker: this.#opts.onWorker }).getReader();
    let finished = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        yield value;
      }
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
    }
  }

  /** Stops the workers (idempotent). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#pool?.close();
  }
}
