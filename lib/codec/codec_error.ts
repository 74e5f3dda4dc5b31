/**
 * The one error the codecs throw for malformed, truncated or corrupted encoded data. lib/codec
 * imports nothing of ours, so it cannot throw the application's typed errors: the application maps
 * this one to its bad-input error (exit code 4) where the codec's output meets it (`toVigoError`).
 */

/** Encoded data (tar, gzip, LZ4) is malformed, truncated or fails a checksum. */
export class CodecError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CodecError";
  }
}
