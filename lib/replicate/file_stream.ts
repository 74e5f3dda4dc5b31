/**
 * Byte ranges of local files as web streams, read on demand in fixed-size chunks so memory stays
 * constant whatever the range size (shadow WAL segments, snapshot temp files).
 */
import { open } from "node:fs/promises";

const CHUNK = 1 << 18;

/** A stream of the bytes `[start, end)` of `path` (to EOF when `end` is omitted). */
export function fileRangeStream(path: string, start = 0, end = Infinity): ReadableStream<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  let pos = start;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      fh ??= await open(path, "r");
      const want = Math.min(CHUNK, end - pos);
      if (want <= 0) {
        await fh.close();
        ctl.close();
        return;
      }
      const buf = new Uint8Array(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) {
        await fh.close();
        if (end !== Infinity) ctl.error(new Error(`${path}: ended at ${pos}, expected ${end} bytes`));
        else ctl.close();
        return;
      }
      pos += bytesRead;
      ctl.enqueue(bytesRead === want ? buf : buf.subarray(0, bytesRead));
    },
    async cancel() {
      await fh?.close();
    },
  });
}
