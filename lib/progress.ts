/**
 * Progress of long work (create, restore, verify, upload, download, …). The library never prints: it
 * opens a phase with what it knows of the total and advances a counter; the CLI installs a reporter
 * that draws (lib/cli/progress_bar.ts), and without one every call is a no-op costing a function call.
 */

/** What a phase counts. */
export type ProgressUnit = "bytes" | "entries";

/** One running phase: a counter that only goes up, ended exactly once. */
export interface ProgressPhase {
  /** Adds `n` units done. */
  advance(n: number): void;
  /** The phase is over (finished or abandoned); later calls are ignored. */
  end(): void;
}

/** Draws phases; installed by the CLI. */
export interface ProgressReporter {
  /** Starts a phase named `label` (e.g. `writing /x.tar.gz`) of `total` units, when known. */
  phase(label: string, total: number | undefined, unit: ProgressUnit): ProgressPhase;
}

const NONE: ProgressPhase = { advance() {}, end() {} };
let reporter: ProgressReporter | undefined;

/** Installs (or, with undefined, removes) the reporter. */
export function setProgressReporter(r: ProgressReporter | undefined): void {
  reporter = r;
}

/** Starts a phase; a no-op phase when nobody draws progress. */
export function progressPhase(label: string, total: number | undefined, unit: ProgressUnit): ProgressPhase {
  if (!reporter) return NONE;
  let ended = false;
  const inner = reporter.phase(label, total, unit);
  return {
    advance: (n) => ended || inner.advance(n),
    end: () => {
      if (ended) return;
      ended = true;
      inner.end();
    },
  };
}
