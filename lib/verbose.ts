/**
 * Per-file and per-request detail for `-v`. The library never prints: it hands lines to this sink,
 * which is silent unless the CLI installs a writer (main.ts does, for `-v`/`--verbose`). Notices (below)
 * are the opposite: shown unless the CLI silences them (`-q/--quiet`).
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

let noticeSink: ((line: string) => void) | undefined;

/**
 * Installs (or, with undefined, restores the default stderr writer for) the library's notices: lines a
 * person should see unless `--quiet`, such as a retry after a failed request.
 */
export function setNoticeSink(write: ((line: string) => void) | undefined): void {
  noticeSink = write;
}

/** One notice line (no newline), on stderr unless the CLI silenced notices. */
export function notice(line: string): void {
  if (noticeSink) noticeSink(line);
  else console.error(line);
}
