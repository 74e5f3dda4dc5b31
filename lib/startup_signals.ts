/**
 * A signal (SIGINT, SIGTERM, SIGHUP) ends every command as an interrupted command ends: exit 130 and one
 * line (README's exit codes), also while its modules load, before any of its own handling exists. main.ts
 * installs these handlers before it loads the command tree; before them the runtime's default ended it
 * with 143 for SIGTERM (129 for SIGHUP) and no word. A command with handling of its own
 * (lib/archive/interrupt_cleanup.ts, replicate's flush, the status server's close) takes over with
 * {@link dropStartupSignals} once its own is installed; the others keep these to the end. They only
 * exit: whatever a command makes that an exit could leave, it makes under handlers of its own.
 *
 * They are never removed with nothing in their place: a signal caught while JavaScript runs without a
 * turn of the event loop (modules loading) reaches its handler only at the next turn, and a handler
 * removed before then never sees it, so the command would run on as if none had come (measured on Deno
 * and Bun: exit 0).
 */
import process from "node:process";
import { ExitCode } from "./errors.ts";

/** The signals that end a command (README's exit codes); a command with handling of its own takes all three. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let holding = false;
let printDocument: ((message: string) => void) | undefined;

/**
 * Has {@link exitInterrupted} call `print` with the interruption's message before the exit: the CLI's
 * `--json` error document (docs/json-output.md), which stdout holds however the command ends.
 */
export function onInterruptedExit(print: (message: string) => void): void {
  printDocument = print;
}

/** Ends the process as an interrupted command: `vigocli: LINE` on stderr for each line, exit 130. */
export function exitInterrupted(lines: string[]): never {
  for (const line of lines) process.stderr.write(`vigocli: ${line}\n`);
  try {
    printDocument?.(lines.join("; "));
  } catch {
    // The exit must happen whatever the document meets (a reader that has gone).
  }
  process.exit(ExitCode.Interrupted);
}

function onSignal(signal: string): void {
  exitInterrupted([`interrupted (${signal})`]);
}

/**
 * Installs the handlers (main.ts, after `--version`'s answer, which needs none; again by a command whose
 * own handling ends before the process does, before it removes its own).
 */
export function holdStartupSignals(): void {
  if (holding) return;
  holding = true;
  for (const signal of STOP_SIGNALS) {
    try {
      process.on(signal, onSignal);
    } catch {
      // A runtime without this signal (e.g. SIGHUP on some platforms) just keeps its default.
    }
  }
}

/**
 * Removes the handlers: called right after the caller installed its own, in the same synchronous step,
 * so that a signal always finds one (this one would otherwise exit before the caller's ran).
 */
export function dropStartupSignals(): void {
  if (!holding) return;
  holding = false;
  for (const signal of STOP_SIGNALS) {
    try {
      process.off(signal, onSignal);
    } catch {
      // Never installed (see holdStartupSignals).
    }
  }
}
