/**
 * Reads a file front to back while another writer appends to it: a download written natively (Bun's
 * writer, see runtime.ts) is hashed, counted and written back to disk early from the page cache behind
 * it, since its bytes never pass through JavaScript. One reused buffer, so the reads make no garbage.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { setImmediate } from "node:timers";
import { toVigoError } from "../errors.ts";

/** Bytes per read. */
const PIECE = 1024 * 1024;
/** Wait before looking again once the reader has caught up with the writer. */
const CAUGHT_UP_MS = 10;

/**
 * Hands each piece of the file at `path` to `read` (the buffer is reused after `read` returns) until
 * `writing` has settled, either way, and the file's end is reached; resolves with the bytes read. The
 * writer's outcome is the caller's to await. Yields to the event loop after every piece: the writer's
 * progress and signal handlers run there.
 */
export async function followFile(
  path: string,
  writing: Promise<unknown>,
  read: (piece: Uint8Array) => void,
): Promise<number> {
  let settled = false;
  writing.then(() => settled = true, () => settled = true);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw toVigoError(err, path);
  }
  const buf = new Uint8Array(PIECE);
  let at = 0;
  try {
    for (;;) {
      // Taken before the read: a writer that settled before it has no byte left that the read missed.
      const last = settled;
      const n = readSync(fd, buf, 0, PIECE, at);
      if (n > 0) {
        at += n;
        read(buf.subarray(0, n));
        await new Promise((resolve) => setImmediate(resolve));
      } else if (last) {
        return at;
      } else {
        await new Promise((resolve) => setTimeout(resolve, CAUGHT_UP_MS));
      }
    }
  } catch (err) {
    throw toVigoError(err, path);
  } finally {
    closeSync(fd);
  }
}
