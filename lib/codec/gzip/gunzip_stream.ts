/**
 * Pull-driven gunzip over node:zlib, in order on one core: what gunzip_members.ts falls back to for
 * what it cannot hand to its workers. Unlike `DecompressionStream`, zlib's gunzip reads every member of
 * a multi-member file (the parallel writer's output) on every runtime. Output is produced only when
 * the consumer asks for it, and input is fed in small pieces, because one piece of deflate input can
 * expand ~1000-fold (a run of empty database pages): memory stays bounded by a few pieces' expansion.
 * Inflating overlaps with hashing and writing on the calling thread: on a worker thread when the
 * caller asks for one (Deno, whose node:zlib inflates on the calling thread), else through
 * node:zlib's own asynchronous calls with a few pieces in flight, which under Bun and Node run on the
 * runtime's thread pool without the cost of posting every piece to a worker (`backup verify`, 256 MiB
 * database: 3.2 → 2.6 s of CPU; README, performance decisions).
 */
import zlib from "node:zlib";
import { CodecError } from "../codec_error.ts";
import { inlineWorker } from "../inline_worker.ts";

/** Compressed bytes handed to zlib at a time (worst case ~32 MiB of output, typically ~80 KiB). */
const PIECE = 32 * 1024;

/** Decompresses a (possibly multi-member) gzip stream in order. Corrupt or truncated input errors the stream. */
export function gunzipSequential(
  input: ReadableStream<Uint8Array>,
  opts: { onWorker?: boolean } = {},
): ReadableStream<Uint8Array> {
  const worker = opts.onWorker ? inlineWorker(WORKER_SOURCE) : undefined;
  return worker ? gunzipOnWorker(input, worker) : gunzipInThread(input);
}

const fail = (message: string, cause?: unknown) =>
  new CodecError(`not a valid gzip stream (${message})`, { cause });

/**
 * Bytes of output per chunk. Every chunk costs the consumer one more trip through the stream
 * machinery (and, under Bun, a thread-pool round trip), so bigger chunks read faster: `backup inspect` of a
 * 10,000-entry manifest 67 → 62 ms and `backup verify` of 1 GiB 5.9 → 5.6 s at 256 KiB (64 KiB before);
 * 1 MiB gained nothing more and cost 10–15 MiB of RSS.
 */
const OUT_CHUNK = 256 * 1024;

/** Pieces in flight (to the worker or to zlib) at once. */
const IN_FLIGHT = 2;

const WORKER_SOURCE = `
import { createGunzip } from "node:zlib";
const z = createGunzip({ chunkSize: ${OUT_CHUNK} });
let failed = false;
z.on("data", (d) => {
  // A full output chunk owns its buffer and is moved, not copied; a partial one is copied.
  const chunk = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? new Uint8Array(d.buffer) : new Uint8Array(d);
  self.postMessage({ type: "data", chunk }, [chunk.buffer]);
});
z.on("error", (err) => {
  failed = true;
  self.postMessage({ type: "error", message: String(err && err.message || err) });
});
z.on("end", () => self.postMessage({ type: "end" }));
self.onmessage = (event) => {
  const m = event.data;
  if (failed) return;
  if (m.type === "piece") z.write(m.piece, () => { if (!failed) self.postMessage({ type: "done" }); });
  else z.end();
};
`;

function gunzipOnWorker(input: ReadableStream<Uint8Array>, worker: Worker): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const out: Uint8Array[] = [];
  let failure: Error | undefined;
  let ended = false;
  let inputDone = false;
  let inFlight = 0;
  let pending: Uint8Array = new Uint8Array(0);
  let wake: (() => void) | undefined;
  const wait = () => new Promise<void>((resolve) => (wake = resolve));
  const finish = () => worker.terminate();
  worker.onmessage = (event: MessageEvent) => {
    const m = event.data;
    if (m.type === "data") out.push(m.chunk);
    else if (m.type === "done") inFlight--;
    else if (m.type === "end") ended = true;
    else failure ??= fail(m.message);
    wake?.();
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    failure ??= fail(event.message);
    wake?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (out.length === 0) {
        if (failure) {
          finish();
          throw failure;
        }
        if (ended) {
          finish();
          controller.close();
          return;
        }
        if (inFlight < IN_FLIGHT && !inputDone) {
          if (pending.length === 0) {
            const { value, done } = await reader.read();
            if (done) {
              inputDone = true;
              worker.postMessage({ type: "end" });
              continue;
            }
            pending = value;
          }
          // Copied: the piece is a view of a buffer the caller still reads from.
          worker.postMessage({ type: "piece", piece: pending.slice(0, PIECE) });
          pending = pending.subarray(PIECE);
          inFlight++;
          continue;
        }
        await wait();
      }
      controller.enqueue(out.shift()!);
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

function gunzipInThread(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const z = zlib.createGunzip({ chunkSize: OUT_CHUNK });
  const out: Uint8Array[] = [];
  let failure: Error | undefined;
  let ended = false;
  let inputDone = false;
  let inFlight = 0;
  let pending: Uint8Array = new Uint8Array(0);
  let wake: (() => void) | undefined;
  const wait = () => new Promise<void>((resolve) => (wake = resolve));
  const poke = () => wake?.();
  z.on("data", (d: Uint8Array) => {
    out.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    poke();
  });
  z.on("error", (err: Error) => {
    failure ??= fail(err.message, err);
    poke();
  });
  z.once("end", () => {
    ended = true;
    poke();
  });
  z.once("close", () => {
    // Closed without "end" (destroyed after an error): nothing more will come.
    if (!ended) failure ??= fail("stream closed early");
    poke();
  });
  // Up to IN_FLIGHT pieces are handed over before their output is taken, so where zlib works on a
  // thread pool (Bun, Node) inflating overlaps with the consumer, as with the worker.
  const feed = (piece: Uint8Array) => {
    inFlight++;
    z.write(piece, (err) => {
      inFlight--;
      if (err) failure ??= fail(err.message, err);
      poke();
    });
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (out.length === 0) {
        if (failure) throw failure;
        if (ended) {
          controller.close();
          return;
        }
        if (inFlight < IN_FLIGHT && !inputDone) {
          if (pending.length === 0) {
            const { value, done } = await reader.read();
            if (done) {
              inputDone = true;
              z.end();
              continue;
            }
            pending = value;
          }
          feed(pending.subarray(0, PIECE));
          pending = pending.subarray(PIECE);
          continue;
        }
        await wait();
      }
      controller.enqueue(out.shift()!);
    },
    async cancel(reason) {
      z.destroy();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
