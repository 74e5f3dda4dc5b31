/**
 * A file as a web stream, for bodies that are read once per attempt (uploads reopen it for a retry).
 */
import { open } from "node:fs/promises";
import { toVigoError } from "../errors.ts";

/** The file at `path` in `chunkBytes` pieces, opened on the first read and closed at the end or cancel. */
export function fileStream(path: string, chunkBytes = 1024 * 1024): ReadableStream<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      fh ??= await open(path, "r").catch((err) => {
        throw toVigoError(err, path);
      });
      // A cancel that came while the file was being opened found no handle to close.
      if (cancelled) return await fh.close();
      const buf = new Uint8Array(chunkBytes);
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) {
        await fh.close();
        ctl.close();
      } else ctl.enqueue(bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead));
    },
    async cancel() {
      cancelled = true;
      await fh?.close();
    },
  });
}
