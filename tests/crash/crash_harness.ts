/**
 * The crash matrix's machinery: run one vigocli command, SIGKILL it at a chosen point, judge what it
 * left, run it again, judge that. A point is either a time after start or the N-th state-changing
 * system call (rename, unlink, mkdir, fsync, link, …), counted and delivered by `strace -e inject`,
 * so a kill lands exactly between two operations however fast or slow the machine is.
 *
 * Scenarios (crash_scenarios.ts) say how to build a fresh world, what "old" and "new" look like and
 * which paths must hold no temporary file after the re-run.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { cliCommand } from "../helpers/cli.ts";

/** The system calls that change files: the operations a kill is placed between. */
export const MUTATING_SYSCALLS =
  "rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,fsync,fdatasync,link,linkat,symlink,symlinkat,ftruncate";

/** Where a kill lands. */
export interface KillPoint {
  kind: "time" | "ops";
  /** Milliseconds after start, or the index (1-based) of the state-changing system call. */
  at: number;
}

/** One command run of a scenario. */
export interface Invocation {
  args: string[];
  env?: Record<string, string>;
  /**
   * For commands that run until stopped (replicate): SIGTERM `afterMs` after their stdout (replicate's
   * event log) has shown `line` (their handlers are in place then); they must exit 0. Not a time after start: on a loaded
   * machine the runtime's start-up alone outlasted 2.5 s, and the SIGTERM found the default handler.
   */
  stop?: { line: RegExp; afterMs: number };
}

/** A fresh world for one kill. */
export interface World {
  /** The command that is killed. */
  run: Invocation;
  /** Names the state the kill left ("old", "new", …) or throws describing the damage. */
  afterKill(): Promise<string>;
  /** The re-run; it must exit 0. */
  rerun(): Invocation;
  /** Throws when the re-run's result is wrong. */
  afterRerun(): Promise<void>;
  /** Root of everything the world holds: no temporary file may remain below it after the re-run. */
  dir: string;
  cleanup(): Promise<void>;
}

/** One operation of the matrix. */
export interface Scenario {
  name: string;
  setup(): Promise<World>;
}

/** The outcome of one kill. */
export interface KillOutcome {
  scenario: string;
  point: KillPoint;
  /** False when the command finished before the kill point. */
  killed: boolean;
  /** What afterKill named, or "DAMAGED: …". */
  state: string;
  /** Empty when the re-run and everything after it was right. */
  problems: string[];
}

/** Temporary names we make anywhere (see lib/fsutil/stale_temps.ts) plus the crate's work names. */
export const TEMP_NAME =
  /\.tmp-|^\.restore-staging-|^\.restore-journal-|^\.vigo-(backup|verify|download)-|^\.incomplete-/;

/** Every temporary name below `dir` (not following symlinks). */
export function tempFilesBelow(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (TEMP_NAME.test(e.name)) found.push(p);
      else if (e.isDirectory) walk(p);
    }
  };
  walk(dir);
  return found;
}

/** Throws unless the database passes integrity_check and a write lock can be taken at once. */
export function requireHealthyUnlocked(path: string): void {
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    const ok = (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
    if (ok !== "ok") throw new Error(`${path}: integrity_check: ${ok}`);
    db.exec("BEGIN IMMEDIATE; ROLLBACK;");
  } finally {
    db.close();
  }
}

/** Runs an invocation to completion, SIGKILLed `killAfterMs` after start when that is set. */
async function spawn(inv: Invocation, killAfterMs?: number) {
  const [cmd, ...pre] = cliCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, ...inv.args],
    env: inv.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
    killed = true;
    signal(child.pid, "SIGKILL");
  }, killAfterMs);
  const stopper = stopOnLine(inv, child.stdout, () => signal(child.pid, "SIGTERM"));
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text(), stopper.read]);
  clearTimeout(timer);
  stopper.disarm();
  return { code: status.code, signal: status.signal, killed, stderr };
}

/**
 * Runs an invocation under strace, counting its state-changing system calls (all threads), and
 * SIGKILLs it right after the `killAt`-th one (strace reports a call when it returns; the kill lands
 * within a few more). `strace -e inject=…:when=N` would be exact but counts per thread, and the
 * runtime spreads file operations over a pool of threads.
 */
async function spawnTraced(inv: Invocation, dir: string, killAt?: number) {
  const fifo = join(dir, `strace-${crypto.randomUUID()}.fifo`);
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  const [cmd, ...pre] = cliCommand();
  const child = new Deno.Command("strace", {
    args: ["-f", "-qq", "-o", fifo, "-e", `trace=${MUTATING_SYSCALLS}`, cmd, ...pre, ...inv.args],
    env: inv.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stopper = stopOnLine(inv, child.stdout, () => killTracee(child.pid, "SIGTERM"));
  let ops = 0;
  let killed = false;
  const lines = (await Deno.open(fifo)).readable.pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of lines) {
    const all = (rest + chunk).split("\n");
    rest = all.pop()!;
    for (const l of all) {
      if (l.includes("resumed>") || !l.trim()) continue;
      ops++;
      if (killAt !== undefined && ops === killAt && !killed) {
        killed = true;
        killTracee(child.pid);
      }
    }
  }
  const [status] = await Promise.all([child.status, stopper.read]);
  stopper.disarm();
  await Deno.remove(fifo);
  return { code: status.code, ops, killed, stderr: await stderr };
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Reads a run's stdout to its end (`read`) and, for an invocation with `stop`, calls `sigterm`
 * `stop.afterMs` after the text first matches `stop.line`; `disarm` clears a SIGTERM not yet sent.
 */
function stopOnLine(inv: Invocation, stdout: ReadableStream<Uint8Array>, sigterm: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = (async () => {
    let text = "";
    for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
      if (!inv.stop || timer !== undefined) continue;
      text += chunk;
      if (inv.stop.line.test(text)) timer = setTimeout(sigterm, inv.stop.afterMs);
    }
  })();
  return { read, disarm: () => clearTimeout(timer) };
}

/** Signals (default SIGKILL) the process strace (`stracePid`) started. */
function killTracee(stracePid: number, sig: Deno.Signal = "SIGKILL"): void {
  let children = "";
  try {
    children = Deno.readTextFileSync(`/proc/${stracePid}/task/${stracePid}/children`);
  } catch {
    return;
  }
  for (const pid of children.split(" ").filter(Boolean).map(Number)) signal(pid, sig);
}

/** A clean run's duration and its number of state-changing system calls. */
export async function measure(s: Scenario): Promise<{ ms: number; ops: number }> {
  let w = await s.setup();
  const t0 = performance.now();
  const plain = await spawn(w.run);
  const ms = performance.now() - t0;
  await w.cleanup();
  if (plain.code !== 0) throw new Error(`${s.name}: clean run failed (${plain.code}): ${plain.stderr}`);
  w = await s.setup();
  const traced = await spawnTraced(w.run, w.dir);
  await w.cleanup();
  if (traced.code !== 0) throw new Error(`${s.name}: traced run failed: ${traced.stderr}`);
  return { ms, ops: traced.ops };
}

/** `k` points spread evenly over a run: alternately by time and by operation count. */
export function killPoints(k: number, m: { ms: number; ops: number }): KillPoint[] {
  const points: KillPoint[] = [];
  const byTime = Math.ceil(k / 2), byOps = k - byTime;
  for (let i = 0; i < byTime; i++) points.push({ kind: "time", at: Math.round((m.ms * (i + 0.5)) / byTime) });
  for (let i = 0; i < byOps; i++) {
    points.push({ kind: "ops", at: Math.max(1, Math.round((m.ops * (i + 0.5)) / byOps)) });
  }
  return points;
}

/** Kills one fresh run of `s` at `p`, then judges, re-runs and judges again. */
export async function killOnce(s: Scenario, p: KillPoint): Promise<KillOutcome> {
  const w = await s.setup();
  const problems: string[] = [];
  let state: string;
  let killed = false;
  try {
    const r = p.kind === "time" ? await spawn(w.run, p.at) : await spawnTraced(w.run, w.dir, p.at);
    killed = r.killed && r.code !== 0;
    if (!killed && r.code !== 0) problems.push(`unkilled run failed (${r.code}): ${r.stderr.trim()}`);
    try {
      state = await w.afterKill();
    } catch (err) {
      state = `DAMAGED: ${(err as Error).message}`;
    }
    const again = await spawn(w.rerun());
    if (again.code !== 0) problems.push(`re-run exit ${again.code}: ${again.stderr.trim()}`);
    else {
      try {
        await w.afterRerun();
      } catch (err) {
        problems.push(`after re-run: ${(err as Error).message}`);
      }
    }
    const left = tempFilesBelow(w.dir);
    if (left.length) problems.push(`temporary files after the re-run: ${left.join(", ")}`);
  } finally {
    await w.cleanup();
  }
  return { scenario: s.name, point: p, killed, state, problems };
}
