/**
 * Downloads that survive a lost connection: when the object's stream fails part-way, the object is
 * opened again from the byte reached and read on, as often as the retry policy allows over the whole
 * download. What opens it again, and what proves it is still the object first read, is the backend's:
 * S3/GCS send a ranged GET pinned to the ETag (s3_api/download.ts), SFTP opens the file on a new
 * session and compares its size and mtime (sftp/sftp_backend.ts). Only bytes already handed on are
 * counted, so none is handed over twice and none is skipped.
 */
import { BackendError } from "../errors.ts";
import { backoffDelay, isRetryable, type RetryPolicy, sleep, TransientError } from "./retry.ts";
import { notice } from "../verbose.ts";

/** An object being downloaded, and how to open it again part-way. */
export interface ResumableSource {
  /** The object from its first byte, or from byte {@link start}. */
  first: ReadableStream<Uint8Array>;
  /** Bytes of the object delivered before `first` (a download read on into a file that holds them). */
  start?: number;
  /** The object from byte `offset`; a final error when it is no longer the object `first` read. */
  reopen(offset: number): Promise<ReadableStream<Uint8Array>>;
  /** The object as messages name it (`s3://bucket/key`). */
  where: string;
  /** The budget, backoff and log line of the resumptions, and which failures may be resumed. */
  retry: RetryPolicy;
  /** The object's size where the first answer announced it: a stream that ends before was cut short. */
  size?: number;
  /** Runs with the length of each chunk handed on. */
  moved?(bytes: number): void;
  /**
   * A read that waits longer than this for its next bytes is a lost connection, read on from where it
   * stopped: a server that stops answering mid-body (hung, or its host gone without a reset) otherwise
   * holds the download for good, as nothing below times a body. SFTP times its own requests.
   */
  idleMs?: number;
}

/** `reader`'s next read; past `idleMs` of waiting, a TransientError instead, `reader` cancelled. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleMs: number | undefined,
  what: () => string,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (idleMs === undefined) return await reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the cancel ends the pending read as "done", which would read as the object's end.
      reject(new TransientError(`${what()}: no data for ${idleMs} ms`));
      reader.cancel().catch(() => {});
    }, idleMs);
  });
  try {
    return await Promise.race([reader.read(), silent]);
  } finally {
    clearTimeout(timer);
  }
}

/** After a failure, with `resumes` made so far: read on from the bytes delivered, or stop. */
export type ResumeStep = "resume" | "final" | "spent";

/** `final` for a failure the policy does not retry, `spent` once its retries are used up. */
export function resumeStep(err: unknown, resumes: number, retry: RetryPolicy): ResumeStep {
  if (!(retry.isRetryable ?? isRetryable)(err)) return "final";
  return resumes >= (retry.maxRetries ?? 6) ? "spent" : "resume";
}

/** Why a stream that ended after `delivered` of the announced `size` bytes was cut short, if it was. */
export function shortBody(delivered: number, size: number | undefined): string | undefined {
  if (size === undefined || !Number.isFinite(size) || delivered >= size) return undefined;
  return `body ended at ${delivered} of ${size} bytes`;
}

/** The refusal of a download whose last failure `err` came after its `resumes` retries were used up. */
export function gaveUpError(where: string, delivered: number, resumes: number, err: unknown): BackendError {
  const reason = (err instanceof Error ? err.message : String(err)).replace(`${where}: `, "");
  return new BackendError(
    `${where}: download failed after ${delivered} bytes: ${reason} (gave up after ${resumes} retries)`,
    { cause: err },
  );
}

/**
 * `source.first`, carried on after each failure the policy retries by the stream `source.reopen`
 * gives from the bytes delivered so far: at most `retry.maxRetries` times over the whole download,
 * each after the policy's backoff and announced by one log line as every retry is. A failure it does
 * not retry (the object changed, permission refused) ends the download at once.
 */
export function resumableStream(source: ResumableSource): ReadableStream<Uint8Array> {
  const { where, retry } = source;
  const max = retry.maxRetries ?? 6;
  const log = retry.log ?? notice;
  let reader = source.first.getReader();
  let delivered = source.start ?? 0;
  let resumes = 0;
  // A reader that stops early (list --remote reads 64 bytes) may cancel while a pull waits on the
  // source or is resuming: the source's read then fails or ends short, which is the cancel, not a loss.
  const cancel = new AbortController();
  const cancelled = cancel.signal;

  const resume = async (cause: unknown): Promise<void> => {
    for (let err = cause;;) {
      const step = resumeStep(err, resumes, retry);
      if (step === "final") throw err;
      if (step === "spent") throw gaveUpError(where, delivered, resumes, err);
      const delay = backoffDelay(resumes, retry);
      resumes++;
      log(
        `vigocli: retry ${resumes}/${max} in ${delay} ms: get ${where}: connection lost after ${delivered} bytes`,
      );
      // Ended at once by a cancel: a backoff of up to 15 s would otherwise hold the process that long.
      await sleep(delay, cancelled).catch(() => {});
      if (cancelled.aborted) return;
      try {
        const next = (await source.reopen(delivered)).getReader();
        if (cancelled.aborted) await next.cancel().catch(() => {});
        reader = next;
        return;
      } catch (again) {
        // Failed after the reader stopped: nothing to read on for, nor to announce.
        if (cancelled.aborted) return;
        err = again;
      }
    }
  };

  // Pulled through (no queue of its own): the sources buffer, and what was delivered is what the
  // reader has.
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await readWithin(reader, source.idleMs, () => `${where} after ${delivered} bytes`);
        } catch (err) {
          if (cancelled.aborted) return;
          await resume(err);
          if (cancelled.aborted) return;
          continue;
        }
        if (cancelled.aborted) return;
        if (chunk.done) {
          const short = shortBody(delivered, source.size);
          if (short) {
            await resume(new TransientError(short));
            if (cancelled.aborted) return;
            continue;
          }
          ctl.close();
          return;
        }
        delivered += chunk.value.length;
        source.moved?.(chunk.value.length);
        ctl.enqueue(chunk.value);
        return;
      }
    },
    cancel(reason) {
      cancel.abort(reason);
      // The reader may be the one that failed: its error is no news to a reader that stopped.
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
