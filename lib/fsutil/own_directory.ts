/**
 * The directories vigocli keeps its own files in (paths.snapshots, its drills/ directory). Something
 * other than a directory in their place is an operating-system failure (exit 11) naming the path: mkdir's
 * EEXIST would otherwise read as "already exists" (exit 10, a refusal to overwrite) and readdir's ENOTDIR
 * as malformed input (exit 4), neither of which tells the operator what to fix.
 */
import { mkdir } from "node:fs/promises";
import { IoError, toVigoError } from "../errors.ts";

/** The error for `dir` (or a folder on its way) not being a directory; `consequence` says what fails. */
export function notADirectory(dir: string, consequence: string, cause?: unknown): IoError {
  return new IoError(`${dir}: not a directory; ${consequence}`, { cause });
}

/** True for the errors of mkdir(2) and readdir(2) when the path or a folder on its way is no directory. */
export function isNotADirectory(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "EEXIST" || code === "ENOTDIR";
}

/** Makes `dir` and its missing parents, private (0700); anything in the way is {@link notADirectory}. */
export async function makeOwnDirectory(dir: string, consequence: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw isNotADirectory(err) ? notADirectory(dir, consequence, err) : toVigoError(err, dir);
  }
}
