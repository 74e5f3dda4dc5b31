/**
 * Refuses what is not a regular file before it is opened: open(2) on a FIFO blocks until a writer
 * appears (uninterruptibly, from JavaScript's point of view), a device such as /dev/zero never ends,
 * and a directory gives confusing errors later. Symbolic links are followed, as open(2) would.
 */
import { statSync } from "node:fs";
import { BadInputError, toVigoError, type VigoError } from "../errors.ts";

/** What a non-regular file is, in words. */
function kindOf(st: ReturnType<typeof statSync> & object): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Throws unless `path` is a regular file: a missing path as {@link toVigoError} maps it (exit 9),
 * anything else through `refuse` (default {@link BadInputError}, exit 4), naming the path and what it is.
 */
export function requireRegularFile(
  path: string,
  what: string,
  refuse: (message: string) => VigoError = (m) => new BadInputError(m),
): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw toVigoError(err, path);
  }
  if (!st.isFile()) throw refuse(`${path}: ${what} is ${kindOf(st)}, not a regular file`);
}
