#!/usr/bin/env -S deno run -A
/**
 * vigocli backup — the command-line entry point. The command tree lives in lib/cli/program.ts (each
 * subcommand in its own file under `lib/cli/`); this file only answers `--version` without loading it.
 */
import process from "node:process";
import { cliArgs } from "./lib/runtime.ts";
import { versionReport, writeVersion } from "./lib/version.ts";
import { holdStartupSignals, onInterruptedExit } from "./lib/startup_signals.ts";
import { restartWithoutTopTier } from "./lib/cli/lean_jit.ts";

if (import.meta.main) {
  const argv = cliArgs();
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    // The same text commander prints for it (program.ts registers versionReport() there too).
    // A synchronous write to fd 1, not process.stdout: in a Bun executable the first touch of
    // process.stdout loads Node's stream machinery, 22 ms of a 29 ms start-up (measured); and unlike
    // console.log it reports a write that failed (a full device, a reader gone: 11 and 141, as every
    // command).
    process.exit(writeVersion(versionReport()));
  }
  // Archive readers start again in place without the top JIT tier (lean_jit.ts): before anything is set up.
  restartWithoutTopTier(argv);
  // Loading the command takes the rest of start-up: a signal meanwhile ends it with exit 130 and a line,
  // as an interrupted command does, not the runtime's 143 and no word.
  holdStartupSignals();
  // A signal ends a --json run with its error document too (docs/json-output.md), not with stderr alone.
  if (argv.includes("--json")) {
    const { printInterruptedError } = await import("./lib/cli/json_output.ts");
    onInterruptedExit(printInterruptedError);
  }
  const { main } = await import("./lib/cli/program.ts");
  process.exit(await main(argv));
}
