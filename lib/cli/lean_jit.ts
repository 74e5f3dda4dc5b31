/**
 * `backup restore` and `backup verify` run without JavaScriptCore's top JIT tier (FTL) in the Bun
 * executables. What they run in JavaScript is thin glue around native work (inflating, hashing,
 * writing), spread over the main thread and workers, and FTL's compiles of it took CPU the run never got
 * back. On 2 cores, medians of 6–8 interleaved runs: restore of 256 MiB + 10,000 files 1.283 → 1.222 s
 * (this restart included; user CPU 1.45–1.66 → 1.38–1.46 s), of 1 GiB 4.13 → 3.90 s, verify 1.063 →
 * 1.022 s, encrypted verify and restore 1.364 → 1.314 and 1.580 → 1.530 s. The others keep FTL, each for
 * its figures: `backup create` unchanged (2.44 / 2.42 s, encrypted 2.65 / 2.65), the replica restore
 * slower (0.791 → 0.851× `litestream restore` without its check, 0.895 → 0.892× with it). Bun's in-process
 * knob, `Bun.unsafe.setJITPolicy`, which scales every tier's threshold, gave restore 1.31 s at 10 and 100
 * against 1.33 s. `backup download` from S3 or GCS runs without any JIT ({@link restartWithout}, called by
 * the command once it knows the backend; lib/cli/backup_download.ts says why).
 *
 * JavaScriptCore reads its options from the environment once, when the runtime starts, so the executable
 * starts itself again in place — execve of /proc/self/exe: the same PID, arguments, descriptors and
 * command line in `ps` — with `BUN_JSC_useFTLJIT=0` added, before anything is set up. That costs one more
 * runtime start (~5 ms). A value the operator set is left alone (`BUN_JSC_useFTLJIT=1` keeps FTL), which
 * also ends the restart.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { runtimeName } from "../runtime.ts";
import { asksForHelp, commandWords } from "./command_modules.ts";

/** The commands (by their words) measured faster without FTL. */
const LEAN_COMMANDS = [["backup", "restore"], ["backup", "verify"]];

/** True when `argv` runs one of the commands above (not its help). */
export function runsLean(argv: string[]): boolean {
  if (asksForHelp(argv)) return false;
  const words = commandWords(argv);
  return LEAN_COMMANDS.some((c) => c.every((w, i) => words[i] === w));
}

/**
 * Restarts this process without FTL when `argv` runs an archive reader under Bun and the environment does
 * not name the switch; returns when it does not restart (or cannot: then the command runs as it is).
 */
export function restartWithoutTopTier(argv: string[]): void {
  if (runsLean(argv)) restartWithout("useFTLJIT");
}

/**
 * Starts this process again in place with JavaScriptCore's `option` off, under Bun where the environment
 * does not name the option already (the operator's value is kept, and it also ends the restart); returns
 * when it does not restart, or cannot (then the command runs as it is). Only before the command has printed
 * or changed anything: the restarted process does it all again.
 */
export function restartWithout(option: "useFTLJIT" | "useJIT"): void {
  const name = `BUN_JSC_${option}`;
  const execve =
    (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never })
      .execve;
  if (runtimeName() !== "bun" || !execve || process.env[name] !== undefined) return;
  const args = ownCommandLine();
  if (!args) return;
  quietExecveWarning();
  try {
    execve("/proc/self/exe", args, { ...process.env, [name]: "0" } as Record<string, string>);
  } catch {
    // No /proc, or the exec refused: the command runs in this process, with the JIT.
  }
}

/**
 * Keeps Bun's "process.execve is an experimental feature" warning off stderr, where it would come after a
 * failed exec (it is printed on a later tick; a successful exec never gets there) and add a line to the
 * command's own: every other warning still reaches the printers that were listening.
 */
function quietExecveWarning(): void {
  const printers = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name === "ExperimentalWarning" && warning.message.includes("process.execve")) return;
    for (const print of printers) print(warning);
  });
}

/** The command line exactly as started, or undefined when it cannot be handed on unchanged. */
function ownCommandLine(): string[] | undefined {
  try {
    const raw = readFileSync("/proc/self/cmdline");
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const args: string[] = [];
    for (let start = 0; start < raw.length;) {
      const end = raw.indexOf(0, start);
      if (end < 0) return undefined;
      args.push(decoder.decode(raw.subarray(start, end)));
      start = end + 1;
    }
    return args.length > 0 ? args : undefined;
  } catch {
    // Unreadable, or an argument that is not UTF-8 (it would not survive the round trip).
    return undefined;
  }
}
