import { ExitCode, toVigoError, VigoError } from "../errors.ts";
import { jsonDocumentPrinted, jsonError } from "./json_output.ts";

/**
 * Writes a one-line error for a person on stderr and returns the exit code to use; with `json` (the
 * command ran with `--json`) also the `{"error":{…}}` document on stdout, where the script reads —
 * unless the command printed its own document before failing (stdout holds one document).
 */
export function reportError(err: unknown, json = false): number {
  const e = err instanceof VigoError ? err : toVigoError(err);
  const line = e.message.replace(/\s*\n\s*/g, " ");
  console.error(`vigocli: ${line}`);
  if (json && !jsonDocumentPrinted()) {
    console.log(JSON.stringify(jsonError(new VigoError(line, e.exitCode, e.kind))));
  }
  if (e.exitCode === ExitCode.Internal && debugEnabled()) console.error(err);
  return e.exitCode;
}

function debugEnabled(): boolean {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .VIGO_DEBUG === "1";
}
