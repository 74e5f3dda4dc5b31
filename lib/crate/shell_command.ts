/**
 * pre_command / post_command: run through `/bin/sh -c` like a crontab line. The command's output goes
 * to our stderr (stdout stays reserved for `--json`), and the outcome is returned for the run report.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { withoutSecretEnv } from "../secrets/child_env.ts";

/** Outcome of one hook command. */
export interface CommandOutcome {
  command: string;
  /** Exit status; null when killed by a signal or not started. */
  status: number | null;
  /** Signal name when killed by one, else null. */
  signal: string | null;
  ok: boolean;
}

/**
 * Runs `command` with `/bin/sh -c`, adding `env` to our environment minus its secrets. Past
 * `timeoutMs` (when given) the shell is sent SIGTERM and the outcome says so.
 */
export function runShellCommand(
  command: string,
  env: Record<string, string>,
  timeoutMs?: number,
): CommandOutcome {
  const [file, args, options] = hookSpawn(command, env);
  const r = spawnSync(file, args, { ...options, timeout: timeoutMs });
  return { command, status: r.status, signal: r.signal ?? null, ok: r.status === 0 && !r.error };
}

/**
 * How either runs a hook: `/bin/sh -c`, our environment plus `env` minus its secrets, both outputs onto our
 * stderr's descriptor itself, as they come (collected and written on after the command ended, the output
 * came late, out of order, and cut at 64 KiB when vigocli exited before a slow reader of its stderr,
 * `crate run … 2>&1 | less`, had taken the rest).
 */
function hookSpawn(
  command: string,
  env: Record<string, string>,
): [string, string[], { env: NodeJS.ProcessEnv; stdio: ["ignore", 2, 2] }] {
  const [file, args] = withoutSecretEnv("/bin/sh", ["-c", command]);
  return [file, args, { env: { ...process.env, ...env }, stdio: ["ignore", 2, 2] }];
}

/** A hook command running: its process (the leader of a process group of its own) and its outcome. */
export interface RunningCommand {
  child: ChildProcess;
  outcome: Promise<CommandOutcome>;
}

/**
 * Starts `command` as {@link runShellCommand} runs it, without blocking: a run waiting in spawnSync let no
 * signal handler in, so a SIGTERM during a hanging pre_command was acted on only after it, and then the
 * snapshot was built all the same. In a process group of its own, which {@link stopCommand} ends whole.
 */
export function startShellCommand(command: string, env: Record<string, string>): RunningCommand {
  const [file, args, options] = hookSpawn(command, env);
  const child = spawn(file, args, { ...options, detached: true });
  const outcome = new Promise<CommandOutcome>((resolve) => {
    child.once("error", () => resolve({ command, status: null, signal: null, ok: false }));
    child.once("exit", (status, signal) => resolve({ command, status, signal, ok: status === 0 }));
  });
  return { child, outcome };
}

/** Sends SIGTERM to `running`'s whole process group (the shell and what it started); never throws. */
export function stopCommand(running: RunningCommand): void {
  try {
    if (running.child.pid !== undefined) process.kill(-running.child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/** One-line description of a failed outcome. */
export function describeFailure(kind: string, o: CommandOutcome): string {
  if (o.signal) return `${kind} was killed by ${o.signal}: ${o.command}`;
  if (o.status === null) return `${kind} could not be started: ${o.command}`;
  return `${kind} exited with status ${o.status}: ${o.command}`;
}
