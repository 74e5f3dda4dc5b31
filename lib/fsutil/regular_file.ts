/**
 * Refuses what is not a regular file before it is opened: open(2) on a FIFO blocks until a writer
 * appears (uninterruptibly, from JavaScript's point of view), a device such as /dev/zero never ends,
 * and a directory gives confusing errors later. Symbolic links are followed, as open(2) would.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { BadInputError, ConfigError, toVigoError, type VigoError } from "../errors.ts";

/** What a non-regular file is, in words. */
function kindOf(st: Stats): string {
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

/** Bytes a configuration file (server.yaml, a configcrate, a credentials file) may have. */
export const CONFIG_FILE_MAX = 16 * 1024 * 1024;

/**
 * The text of configuration file `path` (`what`: server.yaml, a crate file…), read as
 * {@link readSmallRegularFile} reads, its refusals a ConfigError (exit 3).
 */
export function readConfigText(path: string, what: string): string {
  const refuse = (m: string) => new ConfigError(m);
  return new TextDecoder().decode(readSmallRegularFile(path, what, CONFIG_FILE_MAX, refuse));
}

/**
 * The bytes of the small regular file `path` (`what`: a sidecar, a restore journal…), at most `max` of
 * them. Opened without blocking and checked on the open descriptor, so a FIFO put there is refused, not
 * waited on: open(2) of one waits for a writer, past SIGTERM (a handler runs only between JavaScript's
 * turns). More than `max` bytes is refused after reading one byte past it: a link to /dev/zero or a
 * sparse file of gigabytes was read whole (ENOMEM, exit 1). A missing path throws as {@link toVigoError}
 * maps it (NotFoundError); the refusals are `refuse`'s (default {@link BadInputError}, exit 4).
 */
export function readSmallRegularFile(
  path: string,
  what: string,
  max: number,
  refuse: (message: string) => VigoError = (m) => new BadInputError(m),
): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw toVigoError(err, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(`${path}: ${what} is ${kindOf(st)}, not a regular file`);
    const bytes = readUpTo(fd, max + 1);
    if (bytes.length > max) throw refuse(`${path}: ${what} is larger than ${max} bytes`);
    return bytes;
  } catch (err) {
    throw toVigoError(err, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Up to `limit` bytes of `path`, whatever it is, read as they come (a pipe such as `<(pass show vigo)`
 * included): callers ask one byte past their bound and refuse a longer result, so /dev/zero or a huge
 * file is refused, not read whole. Throws the raw error of open or read.
 */
export function readFileUpTo(path: string, limit: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    return readUpTo(fd, limit);
  } finally {
    closeSync(fd);
  }
}

/** Up to `limit` bytes read from `fd` until its end: a bound on what a device or a pipe can make us hold. */
function readUpTo(fd: number, limit: number): Uint8Array {
  const buffer = new Uint8Array(limit);
  let filled = 0;
  for (let n; filled < limit && (n = readSync(fd, buffer, filled, limit - filled, null)) > 0;) filled += n;
  return buffer.subarray(0, filled);
}
