import { ExitCode, toVigoError, VigoError } from "../errors.ts";

/** Writes a one-line error for a person (and nothing else) and returns the exit code to use. */
export function reportError(err: unknown): number {
  const e = err instanceof VigoError ? err : toVigoError(err);
  const line = e.message.replace(/\s*\n\s*/g, " ");
  console.error(`vigocli: ${line}`);
  if (e.exitCode === ExitCode.Internal && debugEnabled()) console.error(err);
  return e.exitCode;
}

function debugEnabled(): boolean {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .VIGO_DEBUG === "1";
}
