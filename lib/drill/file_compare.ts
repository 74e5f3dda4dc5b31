/**
 * Restored files against the live tree, by SHA-256. A difference is a fact for the report (the live
 * server moves on after a backup), not a failure; the tally keeps counts of everything and names a
 * few paths so a report stays small for a large tree.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** How many differing paths a tally names (its counts cover all of them). */
const MAX_NAMED = 20;

/** What a comparison found. */
export interface FileTally {
  checked: number;
  same: number;
  /** The live file exists with other contents. */
  changed: number;
  /** The live file is gone (or unreadable). */
  missing_live: number;
  /** Up to {@link MAX_NAMED} relative paths that differ. */
  differing: string[];
}

/** An empty tally. */
export function newTally(): FileTally {
  return { checked: 0, same: 0, changed: 0, missing_live: 0, differing: [] };
}

/** Counts one file whose restored hash is `restored` and live hash `live` (null: no live file). */
export function tallyFile(t: FileTally, rel: string, restored: string, live: string | null): void {
  t.checked++;
  if (restored === live) {
    t.same++;
    return;
  }
  if (live === null) t.missing_live++;
  else t.changed++;
  if (t.differing.length < MAX_NAMED) t.differing.push(rel);
}

/** SHA-256 of a file, streamed; null when it does not exist or cannot be read. */
export async function sha256OfFile(path: string): Promise<string | null> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  } catch {
    return null;
  }
  return hash.digest("hex");
}
