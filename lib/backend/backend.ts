/**
 * The one small interface every storage destination implements (file, S3, GCS, SFTP). Keys are
 * `/`-separated paths relative to the root the URL names (`s3://bucket/prefix` → keys under
 * `prefix/`). Cross-cutting behaviour (retries) wraps a Backend and is a Backend.
 */
import { BackendError, IoError } from "../errors.ts";

/** One stored object. */
export interface ObjectInfo {
  /** Key relative to the backend root, `/`-separated, no leading slash. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Last-modified time as the backend reports it. */
  mtime: Date;
}

/**
 * Why a {@link SizedBody} is read: to be sent, or only hashed before it is sent (SigV4 signs the
 * payload's SHA-256, so S3 reads the body once for that first). A caller's progress names it so.
 */
export type BodyPass = "send" | "hash";

/**
 * A body whose length is known before it is sent (a file on disk): every `open()` gives a fresh
 * stream of the same `size` bytes. Knowing the length up front lets S3 and GCS send it as one
 * streamed PUT (below their single-PUT cutoff) instead of as buffered multipart parts.
 */
export interface SizedBody {
  /** Bytes every stream from `open()` yields. */
  readonly size: number;
  /**
   * A fresh stream of the body from its first byte, for `pass` (default "send"), in pieces of about
   * `readBytes` where the backend asks for a size (the source's own choice otherwise).
   */
  open(pass?: BodyPass, readBytes?: number): ReadableStream<Uint8Array>;
}

/**
 * An upload body that can be sent again: the bytes themselves, a function that opens a fresh
 * stream of the same bytes on every call (restic's rewind reader), or such a stream of known size.
 * The retry decorator retries uploads of such bodies like any other request.
 */
export type ReplayableBody = Uint8Array | (() => ReadableStream<Uint8Array>) | SizedBody;

/**
 * What `put` takes. A bare stream can be read only once: the decorator passes it through, and only
 * a backend that buffers it (S3/GCS multipart) can retry its pieces.
 */
export type PutBody = ReplayableBody | ReadableStream<Uint8Array>;

/** True when `body` is a {@link SizedBody}. */
export function isSizedBody(body: PutBody): body is SizedBody {
  return typeof body === "object" && !(body instanceof Uint8Array) && !(body instanceof ReadableStream);
}

/** The bytes or the stream of one upload attempt of `body`. */
export function openBody(body: PutBody): Uint8Array | ReadableStream<Uint8Array> {
  if (typeof body === "function") return body();
  return isSizedBody(body) ? body.open() : body;
}

/** How one `put` stores its object. */
export interface PutOptions {
  /**
   * Fail with ExistsError instead of replacing an object that exists when the put commits, where the
   * backend can decide that atomically with the commit: `file://` (link(2)) and `sftp://` (SFTP's plain
   * rename, which refuses an existing name). S3 and GCS replace regardless; their callers check first.
   */
  noReplace?: boolean;
  /**
   * Stops the put (SIGINT, SIGTERM): the caller's body stream fails with the signal's reason, and the
   * backend removes what it had started (its temporary file, its multipart upload) and rejects with
   * that reason, or with a {@link LeftBehindError} when the removal failed. It is not retried.
   */
  signal?: AbortSignal;
  /**
   * Told where the put's temporary object is, before it is made, by a backend that makes a named one
   * (sftp://), and who removes it when the put cannot: an interrupted upload whose cleanup hangs names it.
   */
  onTemporary?: (temporary: TemporaryObject) => void;
}

/** A put's temporary object: its URL, and who removes it when the put could not (`is left for …`). */
export interface TemporaryObject {
  url: string;
  sweep: string;
}

/** A put stopped by its signal could not remove what it had started; the message names it. */
export class LeftBehindError extends BackendError {}

/**
 * A file (`path`, or an object URL) where a backend keeps a directory of objects (`archives/`, a replica's
 * `wal/`, the root): said, not listed as empty. Exit 11, as file:// and sftp:// both say it.
 */
export function fileWhereDirectory(path: string): IoError {
  return new IoError(`${path}: not a directory (the backend keeps one there)`, { path });
}

/**
 * What a put stopped by `signal` rejects with: the signal's reason, unless `err` says what was left
 * behind (how a transport saw its body stop is not the news).
 */
export function stoppedPutError(err: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted && !(err instanceof LeftBehindError) ? signal.reason : err;
}

/** A place objects can be written to, read from, listed and deleted. */
export interface Backend {
  /** The URL this backend was opened with (without credentials), for messages. */
  readonly url: string;
  /**
   * Stores `body` under `key`, replacing any previous object. Atomic: a reader or a listing never
   * sees a partially written object (temp name + rename, or a single/multipart PUT that only
   * becomes visible when complete). Streams are consumed without holding the whole body in memory.
   */
  put(key: string, body: PutBody, opts?: PutOptions): Promise<void>;
  /** Opens `key` for reading. Throws NotFoundError when it does not exist. */
  get(key: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * Writes `key` into the empty file at `path` and resolves with its size, where the backend can do so
   * with less than {@link get} and a write loop take (S3 and GCS under Bun write the answer's body
   * natively: a 1 GiB download peaked at 38–40 MiB RSS instead of 64). Absent elsewhere; a failure to
   * write the file is final and names it.
   */
  getInto?(key: string, path: string): Promise<number>;
  /** Metadata of `key`, or null when it does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix` (recursively), in ascending key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes the keys; a key that does not exist is not an error. */
  delete(keys: string[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
  /**
   * The keys of dead runs' temporary files (a put killed mid-way: stale_temps.ts) that this backend's
   * listings have removed since it was opened, for a caller that reports what it removed (prune).
   * Absent where a listing removes nothing (S3, GCS: an upload never completed is invisible).
   */
  removedTemps?(): readonly string[];
  /**
   * From now on, this backend's listings remove no temporary file: they leave the dead runs' ones out of
   * what they return as before, and {@link removedTemps} names them as ones a listing would remove. For
   * a dry run, which must change nothing. Absent where {@link removedTemps} is.
   */
  spareTemps?(): void;
  /**
   * The backend a decorator (retries) wraps; absent on a concrete backend. {@link asBackend} walks
   * it, so a fast path for one backend keeps working however many decorators sit in front of it.
   */
  unwrap?(): Backend;
}

/**
 * The backend of class `type` inside `backend` (itself, or the one its decorators wrap), or
 * undefined when there is none: restic's `AsBackend`. Asking for the concrete class through this,
 * not with `instanceof` on what one was handed, keeps a fast path on when a decorator is added.
 */
export function asBackend<T extends Backend>(
  backend: Backend,
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => T,
): T | undefined {
  for (let b: Backend | undefined = backend; b !== undefined; b = b.unwrap?.()) {
    if (b instanceof type) return b;
  }
  return undefined;
}

/** `key` as a URL below `backend`'s root (`<url>/<key>`), for messages. */
export function objectUrl(backend: { readonly url: string }, key: string): string {
  return `${backend.url.replace(/\/+$/, "")}/${key}`;
}

/** Makes the listings of `backend` (or of the one its decorators wrap) remove nothing: see {@link Backend.spareTemps}. */
export function spareTempsInListings(backend: Backend): void {
  for (let b: Backend | undefined = backend; b !== undefined; b = b.unwrap?.()) {
    if (b.spareTemps) return b.spareTemps();
  }
}

/**
 * What the listings of `backend` (or of the one its decorators wrap) have removed: see
 * {@link Backend.removedTemps}; none where its listings remove nothing.
 */
export function tempsRemovedByListing(backend: Backend): readonly string[] {
  for (let b: Backend | undefined = backend; b !== undefined; b = b.unwrap?.()) {
    if (b.removedTemps) return b.removedTemps();
  }
  return [];
}
