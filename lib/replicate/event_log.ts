/**
 * One line per replication event (snapshot written, segment uploaded, retention pruned, errors with
 * their retry count), `key=value` formatted like Litestream's own log so existing log scraping keeps
 * working. Informational events go to stdout, warnings and errors to stderr.
 */
import process from "node:process";

/** Severity of an event. */
export type EventLevel = "INFO" | "WARN" | "ERROR";

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

/** The default sink: stdout for INFO, stderr otherwise. */
export const consoleSink: EventSink = (level, msg, fields) => {
  const line = formatEvent(level, msg, fields) + "\n";
  if (level === "INFO") process.stdout.write(line);
  else process.stderr.write(line);
};
