/**
 * What a stop does when the final flush runs out of time (`backup.shutdown_timeout`): it gives up like a
 * crash would, says where the unshipped WAL stays and what the replica lacks, and the next start finds
 * its place again from the replica's contents.
 */
import { formatDuration } from "../config/duration.ts";
import { BackendError, toVigoError, type VigoError } from "../errors.ts";
import { withNote } from "../fsutil/left_temp.ts";
import type { Pos } from "../litestream/replica_client.ts";
import type { EventSink } from "./event_log.ts";

/** True when `work` settled (either way) within `limitMs`; its outcome is then the caller's to await. */
export async function settlesWithin(work: Promise<unknown>, limitMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = await Promise.race([
    work.then(() => false, () => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limitMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) work.catch(() => {}); // its outcome no longer matters; it must not surface as unhandled
  return !timedOut;
}

/** Logs the abandoned flush and returns the error the stop throws (exit 7). */
export function flushTimedOut(
  log: EventSink,
  replica: string,
  limitMs: number,
  pos: Pos | undefined,
  shadowRoot: string,
): BackendError {
  log("ERROR", "shutdown timeout: replica incomplete, unshipped WAL kept for the next start", {
    timeout_ms: limitMs,
    generation: pos?.generation,
    index: pos?.index,
    offset: pos?.offset,
    shadow: shadowRoot,
  });
  return new BackendError(
    `${replica}: not flushed within backup.shutdown_timeout (${
      formatDuration(limitMs)
    }); the unshipped WAL stays in ${shadowRoot} for the next start`,
  );
}

/**
 * Logs a final flush that failed with `err` before its time was up (a replica refusing it: a file where
 * its directory must be, permission denied) and returns the error the stop throws: `err` with its exit
 * code, its line saying, as a timed-out flush's does, that the unshipped WAL waits for the next start.
 */
export function flushFailed(
  log: EventSink,
  err: unknown,
  pos: Pos | undefined,
  shadowRoot: string,
): VigoError {
  const failure = toVigoError(err);
  log("ERROR", "final flush failed: replica incomplete, unshipped WAL kept for the next start", {
    error: failure.message,
    generation: pos?.generation,
    index: pos?.index,
    offset: pos?.offset,
    shadow: shadowRoot,
  });
  return withNote(failure, `the unshipped WAL stays in ${shadowRoot} for the next start`);
}
