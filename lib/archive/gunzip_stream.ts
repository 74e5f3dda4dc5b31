/**
 * A web TransformStream around node:zlib's streaming gunzip. Unlike `DecompressionStream`, zlib's
 * gunzip reads every member of a multi-member file (the parallel writer's output) on every runtime,
 * and inflating runs off the main thread, so hashing and writing overlap with decompression.
 */
import zlib from "node:zlib";
import { BadInputError } from "../errors.ts";

/** Decompresses a (possibly multi-member) gzip stream. Corrupt or truncated input errors the stream. */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const z = zlib.createGunzip({ chunkSize: 256 * 1024 });
  let failure: Error | undefined;
  const fail = (err: Error) => new BadInputError(`not a valid gzip stream (${err.message})`, { cause: err });
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      z.on(
        "data",
        (d: Uint8Array) => controller.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)),
      );
      z.on("error", (err: Error) => {
        failure = fail(err);
      });
    },
    transform(chunk) {
      if (failure) throw failure;
      return new Promise<void>((resolve, reject) => {
        z.write(chunk, (err) => (err || failure ? reject(failure ?? fail(err!)) : resolve()));
      });
    },
    flush() {
      if (failure) throw failure;
      return new Promise<void>((resolve, reject) => {
        z.once("end", () => (failure ? reject(failure) : resolve()));
        z.once("error", (err: Error) => reject(failure ?? fail(err)));
        z.end();
      });
    },
    cancel() {
      z.destroy();
    },
  });
}
