/**
 * Typed errors with stable exit codes. Every failure the CLI reports is a {@link VigoError}: the
 * exit code tells a script what kind of failure it was, the message (one line) names the file and
 * the problem for a person.
 */
import { CodecError } from "./codec/codec_error.ts";

/** Stable process exit codes. Documented in the README; never renumber. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** An unexpected internal failure (a bug). */
  Internal: 1,
  /** Bad command line: unknown flag, missing argument. */
  Usage: 2,
  /** server.yaml, a configcrate or another configuration file is missing or invalid. */
  Config: 3,
  /** An archive, dump, replica or other input is malformed, truncated or fails a checksum. */
  BadInput: 4,
  /** The database or target is in use by another process. */
  Busy: 5,
  /** Decryption failed: wrong password or tampered ciphertext; or no password source. */
  Crypto: 6,
  /** A storage backend (S3, GCS, SFTP, file) failed after retries, or refused credentials. */
  Backend: 7,
  /** A verification ran and found a problem (integrity_check, checksum mismatch in verify). */
  VerifyFailed: 8,
  /** A named thing (archive, generation, secret, snapshot) does not exist. */
  NotFound: 9,
  /** Refused to overwrite an existing file or directory. */
  Exists: 10,
  /** An operating-system level failure: permission denied, disk full, I/O error. */
  Io: 11,
  /** Interrupted by a signal before completion. */
  Interrupted: 130,
  /** Standard output was closed early (a reader such as `head` exited): 128 + SIGPIPE, as coreutils. */
  BrokenPipe: 141,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** Base class of every error the CLI reports to a person. */
export class VigoError extends Error {
  /** Process exit code for this failure. */
  readonly exitCode: ExitCodeValue;
  /** Short stable identifier for `--json` output (e.g. `"bad_input"`). */
  readonly kind: string;

  constructor(message: string, exitCode: ExitCodeValue, kind: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.kind = kind;
  }
}

/** Invalid command-line usage. */
export class UsageError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Usage, "usage", options);
  }
}

/** Missing or invalid configuration (server.yaml, configcrate). */
export class ConfigError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Config, "config", options);
  }
}

/** Malformed, truncated or corrupted input file. */
export class BadInputError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.BadInput, "bad_input", options);
  }
}

/** The database or target is in use. */
export class BusyError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Busy, "busy", options);
  }
}

/** Authentication of encrypted data failed, or no password could be obtained. */
export class CryptoError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Crypto, "crypto", options);
  }
}

/** A storage backend failed. */
export class BackendError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Backend, "backend", options);
  }
}

/** A verification found a problem. */
export class VerifyError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.VerifyFailed, "verify_failed", options);
  }
}

/** A named thing does not exist. */
export class NotFoundError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.NotFound, "not_found", options);
  }
}

/** Refused to overwrite something that exists. */
export class ExistsError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Exists, "exists", options);
  }
}

/** Options of {@link IoError}. */
export interface IoErrorOptions extends ErrorOptions {
  /** The file the failure is on, when it is on one. */
  path?: string;
}

/** An operating-system level failure. */
export class IoError extends VigoError {
  /**
   * The file the failure is on (as the message names it), for code that must tell whose disk failed:
   * the message's wording may change, this may not.
   */
  readonly path?: string;

  constructor(message: string, options?: IoErrorOptions) {
    super(message, ExitCode.Io, "io", options);
    this.path = options?.path;
  }
}

/** Stopped by SIGINT, SIGTERM or SIGHUP before it completed. */
export class InterruptedError extends VigoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Interrupted, "interrupted", options);
  }
}

/**
 * Turns a Node-style fs error into a one-line {@link VigoError} naming the path, a codec's
 * {@link CodecError} into a {@link BadInputError}, or returns the error unchanged when it is already
 * a {@link VigoError}.
 */
export function toVigoError(err: unknown, path?: string): VigoError {
  if (err instanceof VigoError) return err;
  if (err instanceof CodecError) {
    return new BadInputError(path ? `${path}: ${err.message}` : err.message, { cause: err });
  }
  // Node's check of a path holding a NUL byte (from a configured path or a decoded URL): bad input, named
  // with the byte shown, not an internal error.
  if ((err as { code?: unknown })?.code === "ERR_INVALID_ARG_VALUE" && /null bytes/.test(String(err))) {
    const where = path ? `${JSON.stringify(path)}: ` : "";
    return new BadInputError(`${where}a path with a NUL byte, which no file name holds`, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  const where = path ?? e?.path ?? "";
  const prefix = where ? `${where}: ` : "";
  const io = (problem: string) =>
    new IoError(`${prefix}${problem}`, { cause: err, path: where || undefined });
  switch (e?.code) {
    case "ENOENT":
      return new NotFoundError(`${prefix}no such file or directory`, { cause: err });
    case "EACCES":
    case "EPERM":
      return io("permission denied");
    case "ENOSPC":
      return io("no space left on device");
    case "EEXIST":
      return new ExistsError(`${prefix}already exists`, { cause: err });
    case "EISDIR":
      return io("is a directory");
    case "ENOTDIR":
      return new BadInputError(`${prefix}not a directory`, { cause: err });
    case "EIO":
      return io("input/output error");
    case "EFBIG":
      return io("file too large");
    case "EROFS":
      return io("read-only file system");
    case "EBUSY":
      return io("device or resource busy (a mount point?)");
    case "ETXTBSY":
      return io("text file busy");
    case "ENAMETOOLONG":
      return io("file name too long");
    case "EDQUOT":
      return io("disk quota exceeded");
    case "EXDEV":
      return io("crosses a filesystem boundary");
    case "ELOOP":
      return io("too many levels of symbolic links");
    case "EMFILE":
    case "ENFILE":
      return io("too many open files");
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new VigoError(`${prefix}${msg}`, ExitCode.Internal, "internal", { cause: err });
}
