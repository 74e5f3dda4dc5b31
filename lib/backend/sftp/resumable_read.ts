/**
 * SFTP downloads that survive a lost session: when the read stream fails as transient part-way (the
 * connection dropped, the server's SFTP process died, 60 s of silence), the file is opened again on a
 * new session, checked to be the object the first open saw (size and mtime: SFTP has no ETag), and
 * read on from the byte reached, as S3/GCS resume with a ranged GET pinned to the ETag
 * (lib/backend/s3_api/download.ts). Only bytes already handed to the reader are counted, so none is
 * handed over twice and none is skipped.
 */
import { BackendError } from "../../errors.ts";
import { backoffDelay, isRetryable, type RetryPolicy } from "../retry.ts";
import { notice } from "../../verbose.ts";

/** What tells a reopened file is still the object being read: its attributes at the first open. */
export interface FileIdentity {
  size: number;
  /** Seconds since the epoch, as SFTP attributes carry it. */
  mtime: number;
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** How `now` differs from `was` ("size 5 -> 6 bytes, mtime … -> …"), or undefined when it does not. */
export function identityChange(was: FileIdentity, now: FileIdentity): string | undefined {
  const changes: string[] = [];
  if (now.size !== was.size) changes.push(`size ${was.size} -> ${now.size} bytes`);
  if (now.mtime !== was.mtime) changes.push(`mtime ${isoSeconds(was.mtime)} -> ${isoSeconds(now.mtime)}`);
  return changes.length > 0 ? changes.join(", ") : undefined;
}

/** The refusal of a download whose object changed (`detail`) after `offset` bytes had been read. */
export function changedObjectError(where: string, offset: number, detail: string): BackendError {
  return new BackendError(
    `${where}: changed on the server after ${offset} bytes were read (${detail}); download it again`,
  );
}

/** Opens the object on a live session and streams it from byte `offset`. */
export type ReopenAt = (offset: number) => Promise<ReadableStream<Uint8Array>>;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `first` (the object from its first byte), carried on after each retryable failure by the stream
 * `reopen` gives from the bytes delivered so far: at most `retry.maxRetries` times over the whole
 * download, each after the policy's backoff and announced by one log line as every retry is. A failure
 * that is not retryable (the object changed, permission refused) ends the download at once.
 */
export function resumableRead(
  first: ReadableStream<Uint8Array>,
  reopen: ReopenAt,
  where: string,
  retry: RetryPolicy,
): ReadableStream<Uint8Array> {
  const max = retry.maxRetries ?? 6;
  const log = retry.log ?? notice;
  const retryable = retry.isRetryable ?? isRetryable;
  let reader = first.getReader();
  let delivered = 0;
  let resumes = 0;
  // A reader that stops early (list --remote reads 64 bytes) may cancel while a pull is resuming.
  let cancelled = false;

  const resume = async (cause: unknown): Promise<void> => {
    for (let err = cause;;) {
      if (!retryable(err)) throw err;
      if (resumes >= max) {
        const reason = messageOf(err).replace(`${where}: `, "");
        throw new BackendError(
          `${where}: download failed after ${delivered} bytes: ${reason} (gave up after ${resumes} retries)`,
          { cause: err },
        );
      }
      const delay = backoffDelay(resumes, retry);
      resumes++;
      log(
        `vigocli: retry ${resumes}/${max} in ${delay} ms: get ${where}: connection lost after ${delivered} bytes`,
      );
      await new Promise((r) => setTimeout(r, delay));
      if (cancelled) return;
      try {
        const next = (await reopen(delivered)).getReader();
        if (cancelled) await next.cancel().catch(() => {});
        reader = next;
        return;
      } catch (again) {
        err = again;
      }
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (cancelled) return;
          await resume(err);
          if (cancelled) return;
          continue;
        }
        if (chunk.done) {
          if (!cancelled) ctl.close();
          return;
        }
        delivered += chunk.value.length;
        ctl.enqueue(chunk.value);
        return;
      }
    },
    cancel(reason) {
      cancelled = true;
      // The reader may be the one that failed: its error is no news to a reader that stopped.
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
