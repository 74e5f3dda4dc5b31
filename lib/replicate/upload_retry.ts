/**
 * Retries one upload whose body is a stream (which cannot be replayed): the body is rebuilt from its
 * local source for every attempt. Each failed attempt is logged with its retry count; after the last
 * one the error propagates and the next sync tick starts over from the same replica position.
 */
import { backoffDelay } from "../backend/retry.ts";
import type { EventSink } from "./event_log.ts";

/** Attempts per upload within one tick. */
export const UPLOAD_ATTEMPTS = 5;

/** Runs `put(makeBody())` until it succeeds or `attempts` attempts failed. */
export async function uploadWithRetry(
  what: string,
  makeBody: () => ReadableStream<Uint8Array>,
  put: (body: ReadableStream<Uint8Array>) => Promise<void>,
  log: EventSink,
  attempts = UPLOAD_ATTEMPTS,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const body = makeBody();
    try {
      await put(body);
      return;
    } catch (err) {
      await body.cancel().catch(() => {});
      const msg = (err as Error)?.message ?? String(err);
      if (attempt >= attempts) {
        log("ERROR", "upload failed", { what, retry: attempt, error: msg });
        throw err;
      }
      log("WARN", "upload failed, retrying", { what, retry: attempt, error: msg });
      await new Promise((r) => setTimeout(r, backoffDelay(attempt)));
    }
  }
}
