/**
 * The executors' notion of "now". `VIGO_NOW` (RFC 3339) overrides the wall clock so that schedule
 * windows, snapshot names and retention can be played out over weeks in seconds (tests, restore drills).
 */
import process from "node:process";
import { ConfigError } from "../errors.ts";
import { rfc3339FieldProblem } from "../rfc3339_fields.ts";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp (with an explicit offset or `Z`); throws ConfigError naming `what`. */
function parseRfc3339(text: string, what = "time"): Date {
  const ms = RFC3339.test(text) ? Date.parse(text.replace(" ", "T")) : NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `${what}: ${JSON.stringify(text)} is not an RFC 3339 time (e.g. 2026-03-13T02:00:00Z)`,
    );
  }
  // Date.parse would roll a date that does not exist over to another day.
  const problem = rfc3339FieldProblem(text);
  if (problem) throw new ConfigError(`${what}: ${JSON.stringify(text)}: no such time (${problem})`);
  return new Date(ms);
}

/** Current time: `VIGO_NOW` from `env` when set, else the system clock. */
export function currentTime(env: Record<string, string | undefined> = process.env): Date {
  const fake = env.VIGO_NOW;
  if (fake !== undefined && fake !== "") return parseRfc3339(fake, "VIGO_NOW");
  return new Date();
}
