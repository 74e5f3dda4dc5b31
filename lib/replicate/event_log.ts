/**
 * One line per replication event (snapshot written, segment uploaded, retention pruned, errors with
 * their retry count), `key=value` formatted like Litestream's own log so existing log scraping keeps
 * working. Informational events go to stdout, warnings and errors to stderr.
 */
import process from "node:process";

/** Severity of an event. */
export type EventLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

/** Receives events. */
export type EventSink = (level: EventLevel, msg: string, fields?: Record<string, unknown>) => void;

function formatValue(v: unknown): string {
  const s = v instanceof Date ? v.toISOString() : typeof v === "string" ? v : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

/** Formats one event as a single line (no newline). */
export function formatEvent(
  level: EventLevel,
  msg: string,
  fields: Record<string, unknown> = {},
  now = new Date(),
): string {
  const parts = [`time=${now.toISOString()}`, `level=${level}`, `msg=${JSON.stringify(msg)}`];
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) parts.push(`${k}=${formatValue(v)}`);
  }
  return parts.join(" ");
}

let guarded = false;

/** Every line {@link writeLine} started: it settles when the last has been written or has failed. */
let written: Promise<void> = Promise.resolve();

/**
 * Writes one line to stdout (DEBUG, INFO) or stderr. A replicator outlives the readers of its output:
 * when the pipe behind either closes (journald restarted, `| head`), writing fails with EPIPE, and the
 * unhandled stream error ended the process under Deno and dumped a stack trace under Bun. A line that
 * cannot be written is dropped, quietly; replication goes on.
 */
function writeLine(level: EventLevel, line: string): void {
  if (!guarded) {
    guarded = true;
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  }
  const stream = level === "INFO" || level === "DEBUG" ? process.stdout : process.stderr;
  const done = new Promise<void>((resolve) => stream.write(line, () => resolve()));
  written = Promise.all([written, done]).then(() => {});
}

/**
 * Resolves once every event line is written (or failed). A pipe takes 64 KiB at once and the runtime
 * holds the rest, which an exit drops: 3,000 warnings about server.yaml read by a slow reader of a
 * replicator stopped a second later arrived as 417 lines.
 */
export function eventsWritten(): Promise<void> {
  return written;
}

/** The default sink: stdout for DEBUG and INFO, stderr otherwise. */
export const consoleSink: EventSink = (level, msg, fields) => {
  writeLine(level, formatEvent(level, msg, fields) + "\n");
};

/** `--log-format`: Litestream's key=value lines, or one JSON object per line. */
export type EventFormat = "text" | "json";

const LEVEL_RANK: Record<EventLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

/**
 * Formats one event as a JSON object on one line: `time` (RFC 3339 UTC), `level` (lower case, as the
 * `--log-level` values), `msg`, then the fields with snake_case keys; dates as RFC 3339.
 */
function formatEventJson(
  level: EventLevel,
  msg: string,
  fields: Record<string, unknown> = {},
  now = new Date(),
): string {
  const obj: Record<string, unknown> = { time: now.toISOString(), level: level.toLowerCase(), msg };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k in obj) continue;
    obj[k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()] = v instanceof Date ? v.toISOString() : v;
  }
  return JSON.stringify(obj);
}

/** A sink that drops events below `minLevel` and writes the rest in `format` (stdout/stderr split as above). */
export function filteredSink(minLevel: EventLevel, format: EventFormat): EventSink {
  const fmt = format === "json" ? formatEventJson : formatEvent;
  return (level, msg, fields) => {
    if (LEVEL_RANK[level] < LEVEL_RANK[minLevel]) return;
    writeLine(level, fmt(level, msg, fields) + "\n");
  };
}
