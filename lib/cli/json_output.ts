/**
 * The one JSON dialect of every `--json` output: snake_case keys, RFC 3339 UTC timestamps (whole seconds
 * unless the value has milliseconds), integers for bytes and milliseconds. Commands hand their result to
 * {@link printJson}, so a camelCase field or a `Date` in an engine's result cannot leak a second dialect.
 * Failures in `--json` mode are printed by {@link jsonError} on stdout, where the script is reading.
 */
import { InterruptedError, type VigoError } from "../errors.ts";
import { queueStdout } from "./stdout.ts";

/** `createdAt` → `created_at`; keys already in snake_case are unchanged. */
function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** A `Date` as RFC 3339 UTC: `2026-03-13T14:30:00Z`, or `…:00.123Z` when it has milliseconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** `value` in the dialect: keys snake_cased, dates as RFC 3339, bigints as numbers; arrays and nesting kept. */
function toJsonDialect(value: unknown): unknown {
  if (value instanceof Date) return rfc3339(value);
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toJsonDialect);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[snakeCase(k)] = toJsonDialect(v);
    }
    return out;
  }
  return value;
}

/** Whether this run has printed its JSON document already (see {@link jsonDocumentPrinted}). */
let printed = false;

/** Prints `value` in the dialect as one pretty-printed JSON document on stdout. */
export function printJson(value: unknown): void {
  queueStdout(`${JSON.stringify(toJsonDialect(value), null, 2)}\n`);
  printed = true;
}

/**
 * True once the running command has printed its document. A command that fails after printing one (a
 * drill report with a failed path, a crate run report with a failed resource) then gets no error
 * document as well: stdout holds exactly one JSON document, which the script parses.
 */
export function jsonDocumentPrinted(): boolean {
  return printed;
}

/**
 * Prints the error document of a run that a signal ends (`message`: its stderr line without `vigocli: `),
 * unless the command printed its own already: stdout holds exactly one document however a run ends.
 * Written at once (console.log), as the exit follows.
 */
export function printInterruptedError(message: string): void {
  if (printed) return;
  console.log(JSON.stringify(jsonError(new InterruptedError(message))));
}

/** Starts a new run (main() may be called more than once in one process). */
export function resetJsonDocument(): void {
  printed = false;
}

/** Whole milliseconds between two `performance.now()` readings. */
export function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

/** The `{"error":{…}}` document of a failure in `--json` mode. */
export function jsonError(
  e: VigoError,
): { error: { code: number; kind: string; message: string; path: string | null } } {
  return { error: { code: e.exitCode, kind: e.kind, message: e.message, path: errorPath(e) } };
}

/**
 * The file, URL or endpoint an error concerns: the message's leading `<path>: ` (every message starts
 * with what it concerns, by convention), when that looks like a URL, a path (one with a `/` or a `.`,
 * relative ones included: `x.tar.gz`; a leading word such as `stdin:` or `gzip:` is none) or a host:port.
 * A path may hold colons (default archive names do): it ends at the first colon followed by a space.
 */
function errorPath(e: VigoError): string | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/\S*?|(?=\S*?[./])[^\s-]\S*?|[^\s:]+:\d+):\s/.exec(e.message);
  return m ? m[1] : null;
}
