/**
 * Per-file and per-request detail for `-v`. The library never prints: it hands lines to this sink,
 * which is silent unless the CLI installs a writer (main.ts does, for `-v`/`--verbose`).
 */

let sink: ((line: string) => void) | undefined;

/** Installs (or, with undefined, removes) the writer for verbose lines. */
export function setVerboseSink(write: ((line: string) => void) | undefined): void {
  sink = write;
}

/** Whether anyone listens: lets callers skip building expensive lines. */
export function verboseEnabled(): boolean {
  return sink !== undefined;
}

/** One line of detail, shown only with -v. */
export function verbose(line: string): void {
  sink?.(line);
}
