/**
 * Pull-driven gunzip over node:zlib. Unlike `DecompressionStream`, zlib's gunzip reads every member of
 * a multi-member file (the parallel writer's output) on every runtime. Output is produced only when
 * the consumer asks for it, and input is fed in small pieces, because one piece of deflate input can
 * expand ~1000-fold (a run of empty database pages): memory stays bounded by one piece's expansion.
 */
import zlib from "node:zlib";
import { BadInputError } from "../errors.ts";

/** Compressed bytes handed to zlib at a time (worst case ~16 MiB of output). */
const PIECE = 16 * 1024;

/** Decompresses a (possibly multi-member) gzip stream. Corrupt or truncated input errors the stream. */
export function gunzip(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const z = zlib.createGunzip({ chunkSize: 64 * 1024 });
  const out: Uint8Array[] = [];
  let failure: Error | undefined;
  let ended = false;
  let inputDone = false;
  let pending: Uint8Array = new Uint8Array(0);
  const fail = (err: Error) => new BadInputError(`not a valid gzip stream (${err.message})`, { cause: err });
  z.on("data", (d: Uint8Array) => out.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
  z.on("error", (err: Error) => {
    failure ??= fail(err);
  });
  const endPromise = new Promise<void>((resolve) => {
    z.once("end", () => {
      ended = true;
      resolve();
    });
    z.once("error", () => resolve());
    z.once("close", () => resolve());
  });
  const feed = (piece: Uint8Array) =>
    new Promise<void>((resolve) => {
      z.write(piece, (err) => {
        if (err) failure ??= fail(err);
        resolve();
      });
    });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (out.length === 0) {
        if (failure) throw failure;
        if (ended) {
          controller.close();
          return;
        }
        if (pending.length === 0) {
          if (inputDone) {
            await endPromise;
            continue;
          }
          const { value, done } = await reader.read();
          if (done) {
            inputDone = true;
            z.end();
            continue;
          }
          pending = value;
        }
        const piece = pending.subarray(0, PIECE);
        pending = pending.subarray(PIECE);
        await feed(piece);
      }
      controller.enqueue(out.shift()!);
    },
    async cancel(reason) {
      z.destroy();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
