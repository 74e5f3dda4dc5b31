/**
 * Standard output that a reader may close early (`vigocli backup inspect X | head`). The write then
 * fails with EPIPE; vigocli stops quietly with status 141, as coreutils do (they die of SIGPIPE: 128 + 13),
 * instead of printing the runtime's error.
 */
import process from "node:process";
import { ExitCode, toVigoError } from "../errors.ts";

/** True for the error of a write to a pipe whose reader has gone. */
export function isBrokenPipe(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "EPIPE";
}

let guarded = false;

/**
 * `process.stdout`, on which a broken pipe ends the process with {@link ExitCode.BrokenPipe}. Taken
 * lazily: in a Bun executable the first touch of `process.stdout` costs ~20 ms of start-up, which
 * commands that print with `console.log` never pay.
 */
function stdout(): typeof process.stdout {
  if (!guarded) {
    guarded = true;
    // Any other failure (ENOSPC on /dev/full, EIO) also rejects the write's own callback, which ends
    // the command with its one error line; thrown here, it was an uncaught exception, and Bun printed
    // a line of the bundled source and a stack trace before that line.
    process.stdout.on("error", (err: Error) => {
      if (isBrokenPipe(err)) process.exit(ExitCode.BrokenPipe);
    });
  }
  return process.stdout;
}

/** Writes `bytes` to stdout and waits until the runtime has taken them; rejects with the write's error. */
export function writeStdout(bytes: Uint8Array | string): Promise<void> {
  // Named: "no space left on device" alone sent operators looking at the archive's disk. Bun reports
  // the failure to the callback, Deno throws it from write().
  const named = (err: unknown) => isBrokenPipe(err) ? err : toVigoError(err, "standard output");
  return new Promise((resolve, reject) => {
    try {
      stdout().write(bytes, (err) => (err ? reject(named(err)) : resolve()));
    } catch (err) {
      reject(named(err));
    }
  });
}

/** Every write {@link queueStdout} started: it settles when the last has, rejecting if any failed. */
let queued: Promise<void> = Promise.resolve();

/**
 * Writes to stdout without waiting; {@link stdoutWritten} waits for it. A pipe takes 64 KiB at once and
 * the runtime holds the rest: a process that exits before its reader has taken that rest loses it (a
 * 145 KB `restore --json` document read by a slow reader arrived as its first 65,536 bytes, exit 0),
 * and a reader that has gone is noticed only by a write still in flight (exit 0 instead of 141).
 */
export function queueStdout(text: Uint8Array | string): void {
  queued = Promise.all([queued, writeStdout(text)]).then(() => {});
  queued.catch(() => {}); // observed by stdoutWritten(); not an unhandled rejection meanwhile
}

/** Resolves once everything {@link queueStdout} was given is written; rejects with a write's error (EPIPE). */
export function stdoutWritten(): Promise<void> {
  return queued;
}

/** Every write {@link queueStderr} started: it settles when the last has. */
let queuedErr: Promise<void> = Promise.resolve();

/**
 * Writes a line to stderr without waiting; {@link stderrWritten} waits for it. As on stdout, the runtime
 * holds what the pipe has not taken, and an exit drops it: 3,000 warnings read by a slow reader arrived
 * as their first 64 KiB. A failed write is not the command's failure: it resolves all the same.
 */
export function queueStderr(text: string): void {
  const written = new Promise<void>((resolve) => process.stderr.write(text, () => resolve()));
  queuedErr = Promise.all([queuedErr, written]).then(() => {});
}

/** Resolves once everything {@link queueStderr} was given is written (or failed). */
export function stderrWritten(): Promise<void> {
  return queuedErr;
}
