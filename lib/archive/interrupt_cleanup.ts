/**
 * Removes this process's temporary files when it is interrupted (SIGINT, SIGTERM, SIGHUP). A create
 * holds a half-written archive under a temporary name, a restore a staging
 * directory: none of them may outlive a Ctrl-C. The process then exits with code 130.
 *
 * Signal handlers run as event-loop tasks, between two pieces of synchronous JavaScript, never inside
 * one. So a temporary path is safe only if it is created and registered in the same synchronous step,
 * after the handlers are installed: an `await mkdtemp()` followed by registration leaves a window (the
 * directory exists, the resolved promise has not run yet) in which a signal removes everything but it.
 * Under qemu-user that window is wide enough to hit; {@link makeTempDir} closes it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ExitCode, toVigoError } from "../errors.ts";

const paths = new Set<string>();
const stoppers = new Set<() => void>();
let installed = false;

/** Installs the signal handlers once; before it, a signal kills the process with nothing to clean up. */
function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    try {
      process.on(signal, () => {
        for (const stop of stoppers) {
          try {
            stop();
          } catch {
            // The exit must happen whatever fails; the removal below retries.
          }
        }
        for (const p of paths) removeNow(p);
        process.stderr.write(`vigocli: interrupted (${signal}); temporary files removed\n`);
        process.exit(ExitCode.Interrupted);
      });
    } catch {
      // A runtime without this signal (e.g. SIGHUP on some platforms) just keeps its default.
    }
  }
}

/**
 * Removes `p`, retrying: an operation already running on the thread pool (a write of the database
 * copy) can add a file after the directory was emptied, and the exit must happen whatever fails.
 */
function removeNow(p: string): void {
  for (let i = 0; i < 5; i++) {
    try {
      rmSync(p, { recursive: true, force: true });
      return;
    } catch {
      // ENOTEMPTY from a concurrent creation: empty it again.
    }
  }
}

/**
 * Registers `path` (file or directory) for removal on interruption; returns the unregister function.
 * Register BEFORE the path is created, and create it synchronously (or with {@link makeTempDir}):
 * registering a path that does not exist yet is harmless, registering after an `await` is not.
 */
export function removeOnInterrupt(path: string): () => void {
  install();
  paths.add(path);
  return () => void paths.delete(path);
}

/**
 * Registers `stop`, run on interruption before any path is removed: a worker thread still creating
 * files in a registered directory would otherwise refill it while it is removed (restore's small files,
 * lib/fsutil/background_files.ts). Also for undoing what a path alone cannot say, in an order of its
 * own (a crate run's snapshot, post_command, then its lock: lib/crate/resource_run.ts). `stop` must be
 * synchronous. Returns the unregister function.
 */
export function stopOnInterrupt(stop: () => void): () => void {
  install();
  stoppers.add(stop);
  return () => void stoppers.delete(stop);
}

/**
 * Creates a unique directory `<dir>/<prefix><pid>-XXXXXX` and registers it for removal on interruption, in
 * one synchronous step after the handlers are installed, so no signal can find it existing unregistered.
 * Throws a typed error naming `dir` when it cannot be created. The PID in the name lets a later run
 * remove it once this process is dead (lib/fsutil/stale_temps.ts).
 */
export function makeTempDir(dir: string, prefix: string): { path: string; forget: () => void } {
  install();
  let path: string;
  try {
    path = mkdtempSync(join(dir, `${prefix}${process.pid}-`));
  } catch (err) {
    throw toVigoError(err, dir);
  }
  return { path, forget: removeOnInterrupt(path) };
}
