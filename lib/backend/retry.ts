/**
 * Retrying as a wrapper: {@link retryBackend} takes a Backend and is a Backend, so the backends stay
 * plain (one request, one answer) and every backend gets the same policy. Exponential backoff with
 * full jitter (delay = random(0, min(cap, base·2^attempt))) spreads clients that failed together, so
 * they do not hammer a recovering server in lockstep.
 *
 * Only transient failures are retried: 5xx, 429 / SlowDown, timeouts and connection errors. Auth
 * failures, missing objects and other 4xx answers are final: retrying them only delays the message.
 */
import { BackendError, VigoError } from "../errors.ts";
import { type Backend, type ObjectInfo, objectUrl, type PutBody, type PutOptions } from "./backend.ts";
import { notice, verbose, verboseEnabled } from "../verbose.ts";

/** A failure worth retrying (server overloaded or restarting, network blip, timeout). */
export class TransientError extends BackendError {
  /** HTTP status when the failure was an HTTP answer, else undefined. */
  readonly status?: number;

  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** How hard to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 6. */
  maxRetries?: number;
  /** Backoff base in milliseconds. Default 200. */
  baseDelayMs?: number;
  /** Upper bound of one delay in milliseconds. Default 15000. */
  maxDelayMs?: number;
  /** Where a line per retry goes. Default: {@link notice} (stderr unless --quiet). */
  log?: (line: string) => void;
  /** Which failures are worth another attempt: the backend's rule. Default {@link isRetryable}. */
  isRetryable?: (err: unknown) => boolean;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
]);

/** True when `err` is a transient failure that a later attempt may not hit. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  // Every other typed error (not found, auth, bad input) is a final answer.
  if (err instanceof VigoError) return false;
  const e = err as { name?: string; code?: string } | undefined;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return true;
  // A bare TypeError is a bug, not a network blip: the HTTP backends wrap fetch failures themselves.
  return e?.code !== undefined && NETWORK_CODES.has(e.code);
}

/** The delay before retry number `attempt` (0-based): full jitter over an exponential cap. */
export function backoffDelay(attempt: number, policy: RetryPolicy = {}, random = Math.random): number {
  const base = policy.baseDelayMs ?? 200;
  const cap = policy.maxDelayMs ?? 15000;
  return Math.floor(random() * Math.min(cap, base * 2 ** attempt));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** "put s3://b/k" + error → one line, without repeating the object when the error names it. */
function describe(what: string, err: unknown): string {
  const msg = messageOf(err);
  const space = what.indexOf(" ");
  const target = space < 0 ? "" : what.slice(space + 1);
  return target && msg.startsWith(target) ? `${what.slice(0, space)} ${msg}` : `${what}: ${msg}`;
}

/**
 * Called after failure number `retries` (0-based) of `what`: rethrows a final error (not retryable,
 * or the retries are used up, then saying how many were made); otherwise logs one line naming `what`
 * and the retry count, and waits out the backoff. Once `signal` is aborted it throws its reason instead,
 * at once or in the middle of the wait: a backoff of up to 15 s would outlast an interruption's wait
 * for the stopped upload to undo itself (SETTLE_MS).
 */
async function pauseBeforeRetry(
  what: string,
  err: unknown,
  retries: number,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  if (!(policy.isRetryable ?? isRetryable)(err)) throw err;
  const max = policy.maxRetries ?? 6;
  if (retries >= max) {
    throw new BackendError(`${describe(what, err)} (gave up after ${retries} retries)`, { cause: err });
  }
  const delay = backoffDelay(retries, policy);
  const log = policy.log ?? notice;
  log(`vigocli: retry ${retries + 1}/${max} in ${delay} ms: ${describe(what, err)}`);
  await sleep(delay, signal);
}

/** Waits `ms`, or rejects with `signal`'s reason as soon as it is aborted (at once if it already is). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const stop = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs, the retries run out or `signal` is
 * aborted (then failing with its reason). Logs one line per retry naming `what` and the retry count;
 * the final error says how many retries were made.
 */
export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  policy: RetryPolicy = {},
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      await pauseBeforeRetry(what, err, attempt, policy, signal);
    }
  }
}

/**
 * Wraps `inner` so that every operation is retried on transient failures, uploads included when
 * their body is replayable (bytes, or a function or sized body opening a fresh stream per attempt).
 * A bare stream cannot be replayed (the bytes are gone once read), so its `put` is passed through:
 * the S3/GCS backends retry each buffered part of it themselves with the same policy, as they do the
 * parts of a sized body too large for one PUT (their final failure is not retryable here, so such a
 * body is not resent whole).
 */
export function retryBackend(inner: Backend, policy: RetryPolicy = {}): Backend {
  return new RetryBackend(inner, policy);
}

class RetryBackend implements Backend {
  readonly url: string;
  readonly getInto?: (key: string, path: string) => Promise<number>;

  constructor(private readonly inner: Backend, private readonly policy: RetryPolicy) {
    this.url = inner.url;
    const getInto = inner.getInto?.bind(inner);
    if (getInto) {
      // Retried as a get is, when the first answer does not come: the file is still empty then, and a
      // failure after bytes were written is final below (the rest was already read on there).
      this.getInto = (key, path) => {
        this.trace("get", key);
        return withRetries(`get ${this.where(key)}`, () => getInto(key, path), this.policy);
      };
    }
  }

  put(key: string, body: PutBody, opts?: PutOptions): Promise<void> {
    this.trace("put", key);
    if (body instanceof ReadableStream) return this.inner.put(key, body, opts);
    if (body instanceof Uint8Array) {
      return withRetries(
        `put ${this.where(key)}`,
        () => this.inner.put(key, body, opts),
        this.policy,
        opts?.signal,
      );
    }
    return withRetries(
      `put ${this.where(key)}`,
      async () => {
        // A sized body may be opened twice per attempt (S3 hashes it, then sends it).
        const opened: ReadableStream<Uint8Array>[] = [];
        const track = (stream: ReadableStream<Uint8Array>) => (opened.push(stream), stream);
        try {
          await this.inner.put(
            key,
            typeof body === "function"
              ? () => track(body())
              : { size: body.size, open: (pass, readBytes) => track(body.open(pass, readBytes)) },
            opts,
          );
        } catch (err) {
          // The failed attempt may have left its streams half read: release their source (a file).
          await Promise.all(opened.map((s) => s.cancel().catch(() => {})));
          throw err;
        }
      },
      this.policy,
      opts?.signal,
    );
  }

  get(key: string): Promise<ReadableStream<Uint8Array>> {
    this.trace("get", key);
    return withRetries(`get ${this.where(key)}`, () => this.inner.get(key), this.policy);
  }

  stat(key: string): Promise<ObjectInfo | null> {
    this.trace("stat", key);
    return withRetries(`stat ${this.where(key)}`, () => this.inner.stat(key), this.policy);
  }

  /** Restarts a listing that failed part-way and skips the keys already yielded. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.trace("list", prefix);
    const seen = new Set<string>();
    for (let retries = 0;; retries++) {
      try {
        for await (const info of this.inner.list(prefix)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (err) {
        await pauseBeforeRetry(`list ${this.where(prefix)}`, err, retries, this.policy);
      }
    }
  }

  delete(keys: string[]): Promise<void> {
    if (verboseEnabled()) verbose(`delete ${keys.length} object(s) in ${this.url}`);
    // Deleting is idempotent (a missing key is not an error), so a replay is safe.
    return withRetries(
      `delete ${keys.length} object(s) in ${this.url}`,
      () => this.inner.delete(keys),
      this.policy,
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  unwrap(): Backend {
    return this.inner;
  }

  /** One -v line per request (retries are logged as notices by {@link withRetries}). */
  private trace(op: string, key: string): void {
    if (verboseEnabled()) verbose(`${op} ${this.where(key)}`);
  }

  private where(key: string): string {
    return objectUrl(this, key);
  }
}
