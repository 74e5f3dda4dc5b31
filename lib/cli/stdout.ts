/**
 * Standard output that a reader may close early (`vigocli backup inspect X | head`). The write then
 * fails with EPIPE; vigocli stops quietly with status 141, as coreutils do (they die of SIGPIPE: 128 + 13),
 * instead of printing the runtime's error.
 */
import process from "node:process";
import { ExitCode } from "../errors.ts";

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
export function stdout(): typeof process.stdout {
  if (!guarded) {
    guarded = true;
    process.stdout.on("error", (err: Error) => {
      if (isBrokenPipe(err)) process.exit(ExitCode.BrokenPipe);
      throw err;
    });
  }
  return process.stdout;
}

/** Writes `bytes` to stdout and waits until the runtime has taken them; rejects with the write's error. */
export function writeStdout(bytes: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => stdout().write(bytes, (err) => (err ? reject(err) : resolve())));
}
