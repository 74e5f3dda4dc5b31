/**
 * The executors' notion of "now". `VIGO_NOW` (RFC 3339) overrides the wall clock so that schedule
 * windows, snapshot names and retention can be played out over weeks in seconds (tests, restore drills).
 */
import process from "node:process";
import { ConfigError } from "../errors.ts";
import { parseRfc3339 } from "../rfc3339.ts";

/** Current time: `VIGO_NOW` from `env` when set, else the system clock. */
export function currentTime(env: Record<string, string | undefined> = process.env): Date {
  const fake = env.VIGO_NOW;
  if (fake === undefined || fake === "") return new Date();
  const time = parseRfc3339(fake);
  if (typeof time === "string") throw new ConfigError(`VIGO_NOW: ${JSON.stringify(fake)}: ${time}`);
  return time;
}
