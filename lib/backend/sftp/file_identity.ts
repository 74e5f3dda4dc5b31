/**
 * What tells that a file SFTP opens again to resume a download (lib/backend/resumable_stream.ts) is
 * still the one the first open saw: its size and mtime, SFTP having no ETag.
 */
import { BackendError } from "../../errors.ts";

/** What tells a reopened file is still the object being read: its attributes at the first open. */
export interface FileIdentity {
  size: number;
  /** Seconds since the epoch, as SFTP attributes carry it. */
  mtime: number;
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** How `now` differs from `was` ("size 5 -> 6 bytes, mtime … -> …"), or undefined when it does not. */
export function identityChange(was: FileIdentity, now: FileIdentity): string | undefined {
  const changes: string[] = [];
  if (now.size !== was.size) changes.push(`size ${was.size} -> ${now.size} bytes`);
  if (now.mtime !== was.mtime) changes.push(`mtime ${isoSeconds(was.mtime)} -> ${isoSeconds(now.mtime)}`);
  return changes.length > 0 ? changes.join(", ") : undefined;
}

/** The refusal of a download whose object changed (`detail`) after `offset` bytes had been read. */
export function changedObjectError(where: string, offset: number, detail: string): BackendError {
  return new BackendError(
    `${where}: changed on the server after ${offset} bytes were read (${detail}); download it again`,
  );
}
