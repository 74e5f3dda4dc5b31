/**
 * What the CLI tells a person besides errors: warnings on stderr and the human summary of a command on
 * stdout. `-q/--quiet` silences both (errors and `--json` documents are printed regardless, and so is
 * the data a command exists to print, e.g. `list` or `inspect`).
 */
import { setNoticeSink } from "../verbose.ts";
import { queueStderr, queueStdout } from "./stdout.ts";

let quiet = false;
let progressHooks: { clear(): void; stop(): void } | undefined;

/** Registered by the progress display (progress_bar.ts), which is loaded only when progress is drawn. */
export function setProgressHooks(hooks: { clear(): void; stop(): void } | undefined): void {
  progressHooks = hooks;
}

/** Erases a live progress line, so that the next line printed on stderr starts clean. */
export function clearProgressLine(): void {
  progressHooks?.clear();
}

/** Stops (and erases) a progress line a failure left open. */
export function stopProgressDisplay(): void {
  progressHooks?.stop();
}

/** Turns `--quiet` on or off; also silences the library's notices (retries), or prints them on a clean line. */
export function setQuiet(on: boolean): void {
  quiet = on;
  setNoticeSink(
    on ? () => {} : (line) => {
      clearProgressLine();
      queueStderr(`${line}\n`);
    },
  );
}

/** Whether `--quiet` is on. */
export function isQuiet(): boolean {
  return quiet;
}

/** `vigocli: warning: <msg>` on stderr, unless quiet. */
export function warn(msg: string): void {
  if (quiet) return;
  clearProgressLine();
  queueStderr(`vigocli: warning: ${msg}\n`);
}

/**
 * Prints `line`, data a command exists to print (a listing, a status, a plan), `-q` or not; queued, so
 * main() waits for it and a reader that has gone (`| head`) ends the command with 141.
 */
export function printLine(line: string): void {
  queueStdout(`${line}\n`);
}

/** One line of a command's human summary on stdout, unless quiet. */
export function say(line: string): void {
  if (!quiet) queueStdout(`${line}\n`);
}
