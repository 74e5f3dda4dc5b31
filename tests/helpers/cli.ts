/**
 * Runs the CLI the way an operator does: as a separate process. By default from sources
 * (`deno run -A main.ts`); with `VIGOCLI_BIN=/path/to/executable` against a compiled binary, and with
 * `VIGOCLI_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"` through an emulator. Tests that use this
 * helper are named `*_cli_test.ts` and run against every shipped executable.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { recordRun } from "./transcript.ts";

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The command (program + leading args) that starts the CLI. */
export function cliCommand(): string[] {
  const bin = Deno.env.get("VIGOCLI_BIN");
  const runner = (Deno.env.get("VIGOCLI_RUNNER") ?? "").split(" ").filter(Boolean);
  if (bin) return [...runner, bin];
  return [Deno.execPath(), "run", "-A", "--quiet", `${REPO_ROOT}main.ts`];
}

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCli}. */
export interface CliOptions {
  env?: Record<string, string>;
  stdin?: string | Uint8Array;
  cwd?: string;
  /** Kill the run after this many ms (default {@link defaultCliTimeoutMs}); a hang then fails the test. */
  timeoutMs?: number;
  /** A launcher the CLI's command line is appended to, e.g. {@link AS_NOBODY} or {@link UMASK_000}. */
  via?: string[];
  /** Start from an empty environment: the child sees only `env` (and the metadata switch). */
  clearEnv?: boolean;
}

/** Launcher for {@link CliOptions.via}: run as nobody, so that root's read-anything does not hide a check. */
export const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

/**
 * `vigocli ARGS…` run as nobody with HOME and DENO_DIR in `home` (which this makes world-writable), or
 * undefined, said on stderr, where the CLI cannot run as nobody (an executable in a private directory).
 */
export async function cliAsNobody(
  home: string,
): Promise<((...args: string[]) => Promise<CliResult>) | undefined> {
  await Deno.chmod(home, 0o777);
  const run = (...args: string[]) =>
    runCli(args, { via: AS_NOBODY, env: { HOME: home, DENO_DIR: join(home, "deno") } });
  const probe = await run("--version");
  if (probe.code === 0) return run;
  console.warn(`skipped: the CLI cannot run as nobody here (exit ${probe.code})`);
  return undefined;
}

/** Launcher for {@link CliOptions.via}: run under `umask 000`. */
export const UMASK_000 = ["sh", "-c", 'umask 000; exec "$@"', "sh"];

/**
 * Default limit for one {@link runCli}: 120 s natively, 300 s under an emulator (VIGOCLI_RUNNER), or
 * VIGOCLI_TIMEOUT_MS. A command that hangs in one runtime only (seen: Bun's zlib never calling a write
 * callback after a data error) must fail its test, not stall the whole suite.
 */
export function defaultCliTimeoutMs(): number {
  const explicit = Number(Deno.env.get("VIGOCLI_TIMEOUT_MS"));
  if (explicit > 0) return explicit;
  return Deno.env.get("VIGOCLI_RUNNER") ? 300_000 : 120_000;
}

/**
 * The child's environment: the parent's plus `opts.env`, and the EC2 metadata lookup of the S3 credential
 * chain off unless a test points it at its own server, so that no test ever sends a packet to
 * 169.254.169.254.
 */
function childEnv(env: Record<string, string> | undefined): Record<string, string> {
  return { AWS_EC2_METADATA_DISABLED: "true", ...env };
}

/**
 * The program to start: with a cleared environment the child has no PATH to find a bare name (a
 * runner such as qemu-aarch64, a launcher such as setsid) in, so it is looked up in ours.
 */
function programPath(name: string, clearEnv: boolean): string {
  if (!clearEnv || name.includes("/")) return name;
  const dirs = (Deno.env.get("PATH") ?? "").split(":");
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? name;
}

/** Runs `vigocli ARGS…` to completion. */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const [cmd, ...rest] = [...(opts.via ?? []), ...cliCommand(), ...args];
  const child = new Deno.Command(programPath(cmd, opts.clearEnv ?? false), {
    args: rest,
    env: childEnv(opts.env),
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const limit = opts.timeoutMs ?? defaultCliTimeoutMs();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, limit);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    const stderr = dec.decode(out.stderr) +
      (timedOut ? `\nrunCli: killed after ${limit} ms: vigocli ${args.join(" ")}\n` : "");
    const result = { code: timedOut ? 124 : out.code, stdout: dec.decode(out.stdout), stderr };
    recordRun({ argv: args, ...result });
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `vigocli ARGS…` in the background (for long-running commands such as `replicate`). Its
 * stdout and stderr are teed: the caller reads them as usual, and a copy goes to the transcript
 * (tests/helpers/transcript.ts) once both end.
 */
export function spawnCli(args: string[], opts: CliOptions = {}): Deno.ChildProcess {
  const [cmd, ...pre] = cliCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, ...args],
    env: childEnv(opts.env),
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const [stdout, outCopy] = child.stdout.tee();
  const [stderr, errCopy] = child.stderr.tee();
  const text = (s: ReadableStream<Uint8Array>) => new Response(s).text().catch(() => "");
  Promise.all([text(outCopy), text(errCopy)]).then(([o, e]) =>
    recordRun({ argv: args, stdout: o, stderr: e })
  );
  const output = async (): Promise<Deno.CommandOutput> => {
    const [o, e, status] = await Promise.all([
      new Response(stdout).arrayBuffer(),
      new Response(stderr).arrayBuffer(),
      child.status,
    ]);
    return { ...status, stdout: new Uint8Array(o), stderr: new Uint8Array(e) };
  };
  // Stands in for the child, with the teed streams in place of its pipes.
  const proxy = {
    pid: child.pid,
    status: child.status,
    stdout,
    stderr,
    output,
    kill: (signo?: Deno.Signal) => child.kill(signo),
    ref: () => child.ref(),
    unref: () => child.unref(),
    [Symbol.asyncDispose]: () => child[Symbol.asyncDispose](),
  };
  return proxy as unknown as Deno.ChildProcess;
}
