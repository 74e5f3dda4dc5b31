/** Percent-decoding of the parts of a backend URL (a path, an sftp user or password). */
import { ConfigError } from "../errors.ts";

/**
 * `part` percent-decoded. decodeURIComponent's own error ("URI malformed") names neither the URL nor
 * the fix, and would leave as an internal error (exit 1), so a "%" that starts no valid encoding
 * (`50%`, `%zz`, bytes that are no UTF-8) is a ConfigError naming `shownUrl`, which is the URL as a
 * message may show it (no password).
 */
export function decodeUrlPart(part: string, shownUrl: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    throw new ConfigError(`${shownUrl}: not valid percent-encoding (write a literal "%" as %25)`);
  }
  // No path, user name or password holds one; the file system's refusal left as an internal error.
  if (decoded.includes("\0")) throw new ConfigError(`${shownUrl}: %00 (a NUL byte) in the URL`);
  return decoded;
}
