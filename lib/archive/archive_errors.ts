/**
 * Every error reading an archive names the archive. The codecs (gzip, tar) and the decryption know
 * nothing of file names, so "not a valid gzip stream" reached the user without saying which file;
 * errors from a system call that carry their own path keep it.
 */
import { toVigoError, VigoError } from "../errors.ts";
import { CodecError } from "../codec/codec_error.ts";

/** `err` as a {@link VigoError} whose message names `archive` (or its own path). */
export function namingArchive(err: unknown, archive: string): VigoError {
  if (err instanceof CodecError) return toVigoError(err, archive);
  if (err instanceof VigoError) {
    // Same class and code (callers test instanceof), message prefixed once.
    if (!err.message.includes(archive)) err.message = `${archive}: ${err.message}`;
    return err;
  }
  const ownPath = (err as NodeJS.ErrnoException)?.path;
  return toVigoError(err, ownPath ?? archive);
}
