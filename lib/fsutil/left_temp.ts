/**
 * A failed write's temporary file that its cleanup could not remove: the failure stays the error, and
 * its line says what is left and who removes it (stale_temps.ts sweeps a dead PID's temporary names).
 */
import { existsSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { IoError, toVigoError, type VigoError } from "../errors.ts";
import { madeWritable } from "./writable_tree.ts";

/** Who removes a temporary file left behind: its name carries the dead run's PID (stale_temps.ts). */
export const NEXT_RUN_SWEEP = "the next run's sweep";

/** Removes `path` if it is there; why it could not be, or undefined. */
export function removeTemporary(path: string): string | undefined {
  try {
    rmSync(path, { force: true });
    return undefined;
  } catch (err) {
    return removalProblem(err, path);
  }
}

/**
 * Removes each of `paths` that is there (a temporary database and the files SQLite makes beside it), each
 * tried whatever became of the others; the first still there, and why, or undefined. Only those that
 * exist: on a read-only file system Bun's rm({ force: true }) of a missing file throws EROFS.
 */
export function removeTemporaries(paths: string[]): { path: string; problem: string } | undefined {
  let left: { path: string; problem: string } | undefined;
  for (const path of paths.filter((p) => existsSync(p))) {
    const problem = removeTemporary(path);
    if (problem !== undefined) left ??= { path, problem };
  }
  return left;
}

/**
 * Removes the directory `path` and what is in it, if it is there; why it could not be, or undefined. The
 * tree is this process's own: a directory in it made read-only (a restore's staged secrets/ at 0500)
 * keeps its entries from anyone but root, so on EACCES its directories are made writable and the removal
 * is tried again.
 */
export async function removeTemporaryTree(path: string): Promise<string | undefined> {
  try {
    await rm(path, { recursive: true, force: true });
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES" || !madeWritable(path)) {
      return removalProblem(err, path);
    }
  }
  try {
    await rm(path, { recursive: true, force: true });
    return undefined;
  } catch (err) {
    return removalProblem(err, path);
  }
}

/**
 * What a command that failed with `failure` throws once its temporary directory `dir` (`what`: a scratch
 * directory…) is removed: the failure, which stays the error when `dir` cannot be removed and then also
 * says that it is left for `sweep`.
 */
export async function removingTree(
  failure: unknown,
  dir: string,
  what: string,
  sweep: string,
): Promise<unknown> {
  const problem = await removeTemporaryTree(dir);
  if (problem === undefined) return failure;
  return withNote(toVigoError(failure), leftNote(what, dir, problem, sweep));
}

/** Why removing `path` failed with `err`, in words ("permission denied"), without the path. */
export function removalProblem(err: unknown, path: string): string {
  // toVigoError words the errno and, given a path, prefixes it: the problem alone is what follows.
  return toVigoError(err, path).message.slice(`${path}: `.length);
}

/**
 * What a write that failed with `failure` throws when its temporary file `left` could not be removed
 * (`problem`): the failure itself, which stays the news with its type, exit code, cause and an IoError's
 * path (a drill tells a bad input from its own disk's failure by them), its line now also saying what it
 * left and that `sweep` (the next restore-dump's, the next run's) removes it. Stopped by its signal, only
 * what is left: the interrupted line says the rest.
 */
export function leftTemporaryError(
  failure: VigoError,
  left: string,
  problem: string,
  sweep: string,
  stopped = false,
): VigoError {
  const note = leftNote("temporary file", left, problem, sweep);
  if (stopped) return new IoError(note, { cause: failure, path: left });
  return withNote(failure, note);
}

/**
 * What a command that failed with `failure` throws after removing its `what` (a temporary file, a sidecar,
 * a copy of the database) at `left`: the failure, which stays the error when `left` cannot be removed and
 * then also says it is left for `sweep` (named as `path`'s, when it is not a VigoError yet).
 */
export function removingFile<F>(
  failure: F,
  what: string,
  left: string,
  sweep: string,
  path?: string,
): F | VigoError {
  const problem = removeTemporary(left);
  if (problem === undefined) return failure;
  return withNote(toVigoError(failure, path), leftNote(what, left, problem, sweep));
}

/** What a failure's line adds about the `what` (a temporary file, a sidecar…) at `left` it could not remove. */
export function leftNote(what: string, left: string, problem: string, sweep: string): string {
  return `its ${what} ${left} could not be removed (${problem}) and is left for ${sweep}`;
}

/** `failure`, still the error, its line ending with `note`. */
export function withNote(failure: VigoError, note: string): VigoError {
  // The failure's own object, not a copy: a subclass (ExistsError, DatabaseReplacedError…) is kept
  // without knowing its constructor.
  failure.message = `${failure.message}; ${note}`;
  return failure;
}
