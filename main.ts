#!/usr/bin/env -S deno run -A
/**
 * vigocli backup — the command-line entry point. Each subcommand lives in its own file under
 * `lib/cli/`; this file only assembles the command tree and maps failures to exit codes.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import process from "node:process";
import { join } from "node:path";
import { ExitCode, UsageError } from "./lib/errors.ts";
import { reportError } from "./lib/cli/run_action.ts";
import { jsonError } from "./lib/cli/json_output.ts";
import { versionReport } from "./lib/version.ts";
import { setVerboseSink } from "./lib/verbose.ts";
import { clearProgressLine, setQuiet, stopProgressDisplay } from "./lib/cli/output.ts";
import { commandTreeText } from "./lib/cli/help_tree.ts";
import { cliArgs } from "./lib/runtime.ts";
import { backupCreateCommand } from "./lib/cli/backup_create.ts";
import { backupInspectCommand } from "./lib/cli/backup_inspect.ts";
import { backupRestoreCommand } from "./lib/cli/backup_restore.ts";
import { backupVerifyCommand } from "./lib/cli/backup_verify.ts";
import { backupListCommand } from "./lib/cli/backup_list.ts";
import { backupDownloadCommand } from "./lib/cli/backup_download.ts";
import { backupPruneCommand } from "./lib/cli/backup_prune.ts";
import { backupReplicateCommand } from "./lib/cli/backup_replicate.ts";
import { backupDrillCommand } from "./lib/cli/backup_drill.ts";
import { backupInstallUnitsCommand } from "./lib/cli/backup_install_units.ts";
import { backupStatusCommand } from "./lib/cli/backup_status.ts";
import { replicaCommand } from "./lib/cli/replica.ts";
import { secretCommand } from "./lib/cli/secret.ts";
import { crateCommand } from "./lib/cli/crate.ts";
import { snapshotCommand } from "./lib/cli/snapshot.ts";
import { completionCommand, helpCommand } from "./lib/cli/help_command.ts";
import { addRootAlias, applyRootAlias } from "./lib/cli/common.ts";
import { exitCodesText } from "./lib/cli/exit_codes.ts";
import { HELP_EXAMPLES } from "./lib/cli/help_examples.ts";

/** Builds the whole command tree. Exported so tests can inspect `--help` without spawning. */
export function buildProgram(): Command {
  const program = new Command("vigocli")
    .description("Backup and recovery for a Vigo server: archives, replication, snapshots.")
    .version(versionReport(), "-V, --version", "print version, commit, build and runtime details")
    .option("-v, --verbose", "per-file and per-request detail on stderr (which credentials, which objects)")
    .option("-q, --quiet", "errors only: no summaries, warnings or progress (--json output is still printed)")
    .option("--progress", "progress as plain lines every few seconds, also without a terminal (CI logs)")
    .showHelpAfterError()
    .exitOverride()
    .helpCommand(false);

  const backup = new Command("backup")
    .description("point-in-time archives and continuous replication of a Vigo server")
    .addCommand(backupCreateCommand())
    .addCommand(backupInspectCommand())
    .addCommand(backupRestoreCommand())
    .addCommand(backupVerifyCommand())
    .addCommand(backupListCommand())
    .addCommand(backupDownloadCommand())
    .addCommand(backupPruneCommand())
    .addCommand(backupReplicateCommand())
    .addCommand(backupDrillCommand())
    .addCommand(backupInstallUnitsCommand())
    .addCommand(backupStatusCommand())
    .addCommand(replicaCommand());

  program
    .addCommand(backup)
    .addCommand(secretCommand())
    .addCommand(crateCommand())
    .addCommand(snapshotCommand())
    .addCommand(completionCommand(() => program))
    .addCommand(helpCommand(() => program));

  applyRecursively(program, (c) => {
    c.exitOverride().showHelpAfterError();
    addRootAlias(c);
    c.addHelpText("after", () => helpEpilogue(c));
  });
  program.hook("preAction", async (top, action) => {
    const { verbose, quiet, progress } = top.opts();
    if (verbose && quiet) {
      throw new UsageError("-q/--quiet and -v/--verbose contradict each other: give one of them");
    }
    setQuiet(Boolean(quiet));
    if (verbose) {
      setVerboseSink((line) => {
        clearProgressLine();
        process.stderr.write(`vigocli: ${line}\n`);
      });
    }
    // Progress goes to stderr, and only to a person (or, with --progress, a log): never with
    // --quiet or --json, where someone asked for silence or a script reads.
    if (!quiet && !action.opts().json && (progress || process.stderr.isTTY)) {
      const { installProgress } = await import("./lib/cli/progress_bar.ts");
      installProgress(progress ? "plain" : "live");
    }
    applyRootAlias(action);
    // `--server-root R` alone means R's own server.yaml, not the one under /srv/vigo.
    const rootSource = action.getOptionValueSource("serverRoot");
    if (rootSource !== "cli" && rootSource !== "env") return;
    if (action.getOptionValueSource("serverYaml") !== "default") return;
    const root = action.getOptionValue("serverRoot") as string;
    action.setOptionValueWithSource("serverYaml", join(root, "server.yaml"), "implied");
  });
  program.addHelpText("after", () => commandTreeText(program));
  return program;
}

/** Path of `cmd` below the root, e.g. `backup restore`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(" ");
}

/** Examples and the exit-code table, at the end of every `--help`. */
function helpEpilogue(cmd: Command): string {
  const examples = HELP_EXAMPLES[commandPath(cmd)] ?? [];
  const ex = examples.length ? `\nExamples:\n${examples.map((l) => `  ${l}`).join("\n")}\n` : "";
  return `${ex}\nExit codes:\n${exitCodesText()}\n`;
}

function applyRecursively(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) applyRecursively(sub as Command, fn);
}

/** Runs the CLI with `argv` (without the runtime and script name) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    stopProgressDisplay();
    const json = argv.includes("--json");
    if (err instanceof CommanderError) {
      // help and version are reported by commander as "errors" with exit code 0
      if (err.exitCode === 0) return ExitCode.Ok;
      // commander has printed its message on stderr already
      if (json) console.log(JSON.stringify(jsonError(new UsageError(err.message.replace(/^error: /, "")))));
      return ExitCode.Usage;
    }
    return reportError(err, json);
  }
}

if (import.meta.main) {
  const code = await main(cliArgs());
  process.exit(code);
}
