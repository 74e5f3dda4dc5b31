/**
 * The one error the codecs throw for malformed, truncated or corrupted encoded data. lib/codec
 * imports nothing of ours, so it cannot throw the application's typed errors: the application maps
 * this one to its bad-input error (exit code 4) where the codec's output meets it (`toVigoError`).
 * A codec used straight from the library API (`lz4DecompressStream`) reaches its caller unmapped, so
 * it carries the exit code and kind of that bad-input error itself.
 */

/** Encoded data (tar, gzip, LZ4) is malformed, truncated or fails a checksum. */
export class CodecError extends Error {
  /** The exit code of the application's bad-input error (`ExitCode.BadInput`), which it maps to. */
  readonly exitCode = 4;
  /** The `--json` kind of that bad-input error. */
  readonly kind = "bad_input";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CodecError";
  }
}
