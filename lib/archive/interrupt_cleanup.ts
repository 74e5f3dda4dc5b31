/**
 * Removes this process's temporary files when it is interrupted (SIGINT, SIGTERM, SIGHUP). A create
 * holds a half-written archive under a temporary name, a restore a staging
 * directory: none of them may outlive a Ctrl-C. The process then exits with code 130. What only an
 * asynchronous step can undo (an upload's temporary object on a backend: a multipart upload to abort,
 * a file on an SFTP server) runs under {@link runInterruptible}: the signal stops it, and the exit
 * waits, for at most {@link SETTLE_MS}, for it to remove what it had started.
 *
 * Signal handlers run as event-loop tasks, between two pieces of synchronous JavaScript, never inside
 * one. So a temporary path is safe only if it is created and registered in the same synchronous step,
 * after the handlers are installed: an `await mkdtemp()` followed by registration leaves a window (the
 * directory exists, the resolved promise has not run yet) in which a signal removes everything but it.
 * Under qemu-user that window is wide enough to hit; {@link makeTempDir} closes it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import process from "node:process";
import { InterruptedError, toVigoError, type VigoError } from "../errors.ts";
import { dropStartupSignals, exitInterrupted, STOP_SIGNALS } from "../startup_signals.ts";
import { noteOwnTemp } from "../fsutil/stale_temps.ts";

/** How long an interruption waits for work it stopped to undo itself: a request or two to a backend. */
export const SETTLE_MS = 10_000;

/** How work run by {@link runInterruptible} stood once a signal had stopped it. */
export type StoppedOutcome =
  /** It had completed before it noticed. */
  | { kind: "finished" }
  /** It failed with the stop's reason: everything it had started is removed. */
  | { kind: "undone" }
  /** It failed otherwise: the error says what is left. */
  | { kind: "left"; error: VigoError }
  /** Still running after {@link SETTLE_MS}, or a second signal came first. */
  | { kind: "unsettled" };

/** One piece of work {@link runInterruptible} runs: its stop, its promise, and its interrupted line. */
interface Interruptible {
  stop: AbortController;
  running: Promise<unknown>;
  report: (outcome: StoppedOutcome, signal: string) => string;
}

const paths = new Set<string>();
/** What the exit says instead of "temporary files removed", latest first (see {@link sayOnInterrupt}). */
const sayings: ((signal: string) => string)[] = [];
const stoppers = new Set<() => void>();
const interruptibles = new Set<Interruptible>();
let installed = false;
let settling = false;

/**
 * Installs the signal handlers once, in place of the CLI's start-up ones (lib/startup_signals.ts), which
 * only exit (130, 'interrupted (SIGTERM)'). Without either (a library user), a signal kills the process
 * with nothing to clean up and no exit hook run (a create's lock file, lib/fsutil/file_lock.ts, would
 * stay), with 128 + its number (143 for SIGTERM) and no word. Also called early by a command that may
 * hold nothing to remove when a signal comes but ends with this module's interrupted line all along: a
 * crate run outside its locked sections (loading, a dry run, between resources).
 */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of STOP_SIGNALS) {
    try {
      process.on(signal, () => onSignal(signal));
    } catch {
      // A runtime without this signal (e.g. SIGHUP on some platforms) just keeps its default.
    }
  }
  // In the same step: start-up's handler (lib/startup_signals.ts) would exit before this one's cleanup.
  dropStartupSignals();
}

function onSignal(signal: string): void {
  // A second signal while stopped work undoes itself: exit at once, saying what may be left.
  if (settling) exitWith([...interruptibles].map((w) => w.report({ kind: "unsettled" }, signal)));
  for (const stop of stoppers) {
    try {
      stop();
    } catch {
      // The exit must happen whatever fails; the removal below retries.
    }
  }
  for (const p of paths) removeNow(p);
  if (interruptibles.size === 0) {
    exitWith([sayings.at(-1)?.(signal) ?? `interrupted (${signal}); temporary files removed`]);
  }
  settling = true;
  const stopped = [...interruptibles];
  void Promise.all(stopped.map(async (w) => w.report(await settle(w, signal), signal))).then(exitWith);
}

/**
 * Removes what is still registered, prints one `vigocli: LINE` per line on stderr and exits 130. The
 * removal at the signal cannot see what stopped work registers while the exit waits for it (a create
 * whose pin was still waiting makes its temporary file then): this pass does.
 */
function exitWith(lines: string[]): never {
  for (const p of paths) removeNow(p);
  exitInterrupted(lines);
}

/** Stops `w` and waits, for at most {@link SETTLE_MS}, for how it ends. */
async function settle(w: Interruptible, signal: string): Promise<StoppedOutcome> {
  const reason = new InterruptedError(`interrupted (${signal})`);
  w.stop.abort(reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<StoppedOutcome>((r) =>
    timer = setTimeout(() => r({ kind: "unsettled" }), SETTLE_MS)
  );
  const ended = w.running.then(
    (): StoppedOutcome => ({ kind: "finished" }),
    (err): StoppedOutcome => err === reason ? { kind: "undone" } : { kind: "left", error: toVigoError(err) },
  );
  try {
    return await Promise.race([ended, waited]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `work` so that SIGINT, SIGTERM or SIGHUP stops it instead of killing the process: its signal
 * aborts with an InterruptedError (work that sees it removes what it had started and rejects with that
 * very error, or with one naming what is left); once it has ended, or after {@link SETTLE_MS}, the
 * line `report` makes of the outcome is printed and the process exits 130. Interrupted, this never
 * returns: the exit is the signal handler's.
 */
export async function runInterruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
  report: (outcome: StoppedOutcome, signal: string) => string,
): Promise<T> {
  installInterruptHandlers();
  const stop = new AbortController();
  const running = work(stop.signal);
  const w: Interruptible = { stop, running, report };
  interruptibles.add(w);
  const never = () => new Promise<never>(() => {});
  try {
    const value = await running;
    if (stop.signal.aborted) return await never();
    return value;
  } catch (err) {
    if (stop.signal.aborted) return await never();
    throw err;
  } finally {
    if (!stop.signal.aborted) interruptibles.delete(w);
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
  installInterruptHandlers();
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
  installInterruptHandlers();
  stoppers.add(stop);
  return () => void stoppers.delete(stop);
}

/**
 * Registers the line an interruption prints from now on, for a command whose work is done and whose
 * signal would otherwise say "temporary files removed" as if nothing had happened (a committed restore).
 * Returns the unregister function.
 */
export function sayOnInterrupt(line: (signal: string) => string): () => void {
  installInterruptHandlers();
  sayings.push(line);
  return () => {
    const at = sayings.indexOf(line);
    if (at >= 0) sayings.splice(at, 1);
  };
}

/**
 * Creates a unique directory `<dir>/<prefix><pid>-XXXXXX` and registers it for removal on interruption, in
 * one synchronous step after the handlers are installed, so no signal can find it existing unregistered.
 * Throws a typed error naming `dir` when it cannot be created. The PID in the name lets a later run
 * remove it once this process is dead (lib/fsutil/stale_temps.ts).
 */
export function makeTempDir(dir: string, prefix: string): { path: string; forget: () => void } {
  installInterruptHandlers();
  let path: string;
  try {
    path = mkdtempSync(join(dir, `${prefix}${process.pid}-`));
  } catch (err) {
    throw toVigoError(err, dir);
  }
  noteOwnTemp(basename(path));
  return { path, forget: removeOnInterrupt(path) };
}
