/**
 * The command tree of vigocli and the mapping of failures to exit codes. main.ts loads this module only
 * when it has more to do than print `--version`, so start-up for that stays free of every command's
 * imports (README, Design: performance decisions).
 */
import { Command, CommanderError, type CommandUnknownOpts, type Option } from "@commander-js/extra-typings";
import process from "node:process";
import { join } from "node:path";
import { ExitCode, UsageError } from "../errors.ts";
import { reportError } from "./run_action.ts";
import { isBrokenPipe, queueStderr, queueStdout, stderrWritten, stdoutWritten } from "./stdout.ts";
import { jsonError, resetJsonDocument } from "./json_output.ts";
import { versionReport } from "../version.ts";
import { setVerboseSink } from "../verbose.ts";
import { clearProgressLine, setQuiet, stopProgressDisplay } from "./output.ts";
import { commandTreeText } from "./help_tree.ts";
import { completionCommand, helpCommand } from "./help_command.ts";
import { addRootAlias, applyRootAlias } from "./common.ts";
import { exitCodesText } from "./exit_codes.ts";
import { HELP_EXAMPLES } from "./help_examples.ts";
import { optionDescription } from "./option_help.ts";
import { helpWidth, wrapExample } from "./help_wrap.ts";
import { closest } from "../closest_name.ts";
import { type CommandModule, commandsToLoad } from "./command_modules.ts";

/**
 * Every command module, in the order `--help` lists them, each loaded by its own dynamic import: the
 * executable is built with `--splitting`, so a command run parses its own module and no other command's
 * (nor their node: modules: tty, os, url…). See commandsToLoad for when the whole tree is built.
 */
const COMMANDS: CommandModule<Command>[] = [
  {
    path: ["backup", "create"],
    load: async () => (await import("./backup_create.ts")).backupCreateCommand(),
  },
  {
    path: ["backup", "inspect"],
    load: async () => (await import("./backup_inspect.ts")).backupInspectCommand(),
  },
  {
    path: ["backup", "restore"],
    load: async () => (await import("./backup_restore.ts")).backupRestoreCommand(),
  },
  {
    path: ["backup", "verify"],
    load: async () => (await import("./backup_verify.ts")).backupVerifyCommand(),
  },
  { path: ["backup", "list"], load: async () => (await import("./backup_list.ts")).backupListCommand() },
  {
    path: ["backup", "download"],
    load: async () => (await import("./backup_download.ts")).backupDownloadCommand(),
  },
  {
    path: ["backup", "upload"],
    load: async () => (await import("./backup_upload.ts")).backupUploadCommand(),
  },
  { path: ["backup", "prune"], load: async () => (await import("./backup_prune.ts")).backupPruneCommand() },
  {
    path: ["backup", "replicate"],
    load: async () => (await import("./backup_replicate.ts")).backupReplicateCommand(),
  },
  { path: ["backup", "drill"], load: async () => (await import("./backup_drill.ts")).backupDrillCommand() },
  {
    path: ["backup", "install-units"],
    load: async () => (await import("./backup_install_units.ts")).backupInstallUnitsCommand(),
  },
  {
    path: ["backup", "status"],
    load: async () => (await import("./backup_status.ts")).backupStatusCommand(),
  },
  { path: ["backup", "replica"], load: async () => (await import("./replica.ts")).replicaCommand() },
  { path: ["secret"], load: async () => (await import("./secret.ts")).secretCommand() },
  { path: ["crate"], load: async () => (await import("./crate.ts")).crateCommand() },
  { path: ["snapshot"], load: async () => (await import("./snapshot.ts")).snapshotCommand() },
];

/**
 * Builds the command tree: the whole of it, or, given the `argv` of a run, only what that run needs
 * (commandsToLoad). Exported so tests can inspect `--help` without spawning.
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const wanted = commandsToLoad(COMMANDS, argv);
  const loaded = await Promise.all(wanted.map((c) => c.load()));
  const program = new Command("vigocli")
    .description("Backup and recovery for a Vigo server: archives, replication, snapshots.")
    .version(versionReport(), "-V, --version", "print version, commit, build and runtime details")
    .option("-v, --verbose", "per-file and per-request detail on stderr (which credentials, which objects)")
    .option("-q, --quiet", "errors only: no summaries, warnings or progress (--json output is still printed)")
    .option("--progress", "progress as plain lines every few seconds, also without a terminal (CI logs)")
    .exitOverride()
    .helpCommand(false);

  const backup = new Command("backup")
    .description("point-in-time archives and continuous replication of a Vigo server");
  program.addCommand(backup);
  for (const [i, c] of wanted.entries()) (c.path.length === 2 ? backup : program).addCommand(loaded[i]);
  program
    .addCommand(completionCommand(() => program))
    .addCommand(helpCommand(() => program));

  applyRecursively(program, (c) => {
    c.exitOverride().configureOutput(oneLineComplaints(c));
    addRootAlias(c);
    c.addHelpText("after", () => helpEpilogue(c));
    const required = checkMandatoryAfterUnknown(c);
    c.configureHelp({ optionDescription: (o) => optionDescription(o, required.includes(o)) });
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
        queueStderr(`vigocli: ${line}\n`);
      });
    }
    // Progress goes to stderr, and only to a person (or, with --progress, a log): never with
    // --quiet or --json, where someone asked for silence or a script reads.
    if (!quiet && !action.opts().json && (progress || redrawingTerminal())) {
      const { installProgress } = await import("./progress_bar.ts");
      installProgress(progress ? "plain" : "live");
    }
    applyRootAlias(action);
    refuseEmptyPaths(action);
    // `--server-root R` alone means R's own server.yaml, not the one under /srv/vigo.
    const rootSource = action.getOptionValueSource("serverRoot");
    if (rootSource !== "cli" && rootSource !== "env") return;
    if (action.getOptionValueSource("serverYaml") !== "default") return;
    const root = action.getOptionValue("serverRoot") as string;
    action.setOptionValueWithSource("serverYaml", join(root, "server.yaml"), "implied");
  });
  program.addHelpText("after", () => commandTreeText(program, helpWidth()));
  return program;
}

/**
 * A command run without the subcommand it needs (`vigocli backup`), noted by {@link oneLineComplaints}
 * and reported by {@link main}.
 */
let missingSubcommandOf: Command | undefined;

/**
 * commander's own complaints (unknown option, missing argument, unknown command) as one line naming the
 * problem and where the usage is, like every other failure, instead of the message followed by the
 * whole help page. Help asked for with `--help` goes to stdout and is untouched; commander writes to
 * stderr only otherwise: the complaint (outputError) and, for a command run without its subcommand,
 * the help page, which is replaced by one line in {@link main}.
 */
function oneLineComplaints(cmd: Command) {
  return {
    outputError: (message: string) => {
      const text = oneLine(message);
      process.stderr.write(`vigocli: ${text} (see ${helpOf(cmd)})\n`);
    },
    writeErr: () => void (missingSubcommandOf = cmd),
    // Help, queued as every print is: main() waits for it, and a reader gone early (`| head`) is 141.
    writeOut: (text: string) => queueStdout(text),
  };
}

/**
 * `cmd`'s required options checked after its unknown ones, not before as commander does: a mistyped
 * `--outptu` was reported as a missing `--output`, with no "did you mean". Same message, same exit (2).
 * Returns them; commander no longer knows them as required, so the usage line is given them here
 * (`-o <path> [options] <dump>`), which it would not show either.
 */
function checkMandatoryAfterUnknown(cmd: CommandUnknownOpts): readonly Option[] {
  const required = cmd.options.filter((o) => o.mandatory);
  if (required.length === 0) return required;
  for (const o of required) o.mandatory = false;
  const terms = required.map((o) => `${o.short ?? o.long} ${/<[^>]+>/.exec(o.flags)?.[0] ?? ""}`.trim());
  cmd.usage([...terms, cmd.usage()].join(" "));
  cmd.hook("preAction", (self) => {
    for (const o of required) {
      if (self.getOptionValue(o.attributeName()) === undefined) {
        self.error(`error: required option '${o.flags}' not specified`, {
          code: "commander.missingMandatoryOptionValue",
          exitCode: ExitCode.Usage,
        });
      }
    }
  });
  return required;
}

/** A complaint of commander's as one line: "unknown option '--x'\n(Did you mean --y?)" on one. */
function oneLine(message: string): string {
  return message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim().replace(/\.$/, "");
}

/**
 * Why commander showed `group`'s help on stderr: no subcommand given (`vigocli backup`), or its implicit
 * `help` asked about one that does not exist (`vigocli backup help craete`, which commander reports the
 * same way).
 */
function missingCommandMessage(group: Command, argv: string[]): string {
  const path = commandPath(group);
  const names = group.commands.map((c) => c.name());
  const words = argv.filter((a) => !a.startsWith("-"));
  const at = words.indexOf("help", path ? path.split(" ").length : 0);
  const asked = at >= 0 ? words[at + 1] : undefined;
  if (asked !== undefined && !names.includes(asked)) {
    const hint = closest(asked, names);
    return `${path ? `${path} ` : ""}help: no command ${JSON.stringify(asked)}${
      hint ? ` (did you mean "${hint}"?)` : ""
    }`;
  }
  return `${path ? `${path}: ` : ""}missing command (one of ${names.join(", ")})`;
}

/** How to ask for `cmd`'s usage: `vigocli backup restore --help`. */
function helpOf(cmd: Command): string {
  return `${["vigocli", commandPath(cmd)].filter(Boolean).join(" ")} --help`;
}

/** Path of `cmd` below the root, e.g. `backup restore`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(" ");
}

/** Examples and the exit-code table, at the end of every `--help`. */
function helpEpilogue(cmd: Command): string {
  const width = helpWidth();
  const examples = (HELP_EXAMPLES[commandPath(cmd)] ?? []).flatMap((l) => wrapExample(l, width - 2));
  const ex = examples.length ? `\nExamples:\n${examples.map((l) => `  ${l}`).join("\n")}\n` : "";
  return `${ex}\nExit codes:\n${exitCodesText(width)}\n`;
}

function applyRecursively(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) applyRecursively(sub as Command, fn);
}

/** Placeholders of options and arguments that name a file, directory or URL, and what each names. */
const PATH_PLACEHOLDERS = new Map([
  ["file", "file"],
  ["dir", "directory"],
  ["path", "path"],
  ["archive", "archive"],
  ["url", "URL"],
  ["target_path", "directory"],
  ["out", "path"],
  ["dump", "file"],
]);

/**
 * Refuses an empty file, directory or URL: usually a shell variable that was not set (`--target "$T"`),
 * which the runtime resolves to the current directory: `restore --target ''` restored into it.
 */
function refuseEmptyPaths(cmd: CommandUnknownOpts): void {
  for (const o of cmd.options) {
    const placeholder = /<([a-z_]+)>/.exec(o.flags)?.[1];
    if (!placeholder || !PATH_PLACEHOLDERS.has(placeholder) || cmd.getOptionValue(o.attributeName()) !== "") {
      continue;
    }
    const fromEnv = cmd.getOptionValueSource(o.attributeName()) === "env" && o.envVar;
    const named = PATH_PLACEHOLDERS.get(placeholder);
    throw new UsageError(fromEnv ? `${o.envVar} is set but empty` : `${o.long}: empty (no ${named} named)`);
  }
  cmd.registeredArguments.forEach((a, i) => {
    const named = PATH_PLACEHOLDERS.get(a.name());
    if (named && cmd.processedArgs[i] === "") throw new UsageError(`${a.name()}: empty (no ${named} named)`);
  });
}

/** Runs the CLI with `argv` (without the runtime and script name) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  resetJsonDocument();
  missingSubcommandOf = undefined;
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: "user" });
    // Not before the reader has it all: an exit drops what the pipe has not taken yet (stdout.ts).
    await Promise.all([stdoutWritten(), stderrWritten()]);
    return ExitCode.Ok;
  } catch (err) {
    stopProgressDisplay();
    if (isBrokenPipe(err)) return ExitCode.BrokenPipe;
    // What the command printed before it failed goes out first, whole, then the error's own lines.
    await stderrWritten();
    const unwritten = await stdoutWritten().then(() => undefined, (e: unknown) => e);
    if (isBrokenPipe(unwritten)) return ExitCode.BrokenPipe;
    const json = argv.includes("--json");
    if (err instanceof CommanderError) {
      // help and version are reported by commander as "errors" with exit code 0; their text not
      // written (a full device) is the command's failure.
      if (err.exitCode === 0) return unwritten === undefined ? ExitCode.Ok : reportError(unwritten, json);
      let message = oneLine(err.message);
      // Set by commander's callback during parseAsync, which the compiler's narrowing cannot see.
      const group = missingSubcommandOf as Command | undefined;
      if (err.code === "commander.help" && group) {
        message = missingCommandMessage(group, argv);
        process.stderr.write(`vigocli: ${message} (see ${helpOf(group)})\n`);
      }
      // Otherwise commander has printed its one line on stderr already (oneLineComplaints).
      if (json) console.log(JSON.stringify(jsonError(new UsageError(message))));
      return ExitCode.Usage;
    }
    return reportError(err, json);
  }
}

/**
 * Whether stderr is a terminal the live progress line can redraw itself on. A dumb one (TERM=dumb, as
 * in Emacs' shell buffers, or no TERM at all) prints the cursor and erase sequences as garbage, so it
 * counts as no terminal: no progress unless --progress, whose plain lines redraw nothing.
 */
function redrawingTerminal(): boolean {
  const term = process.env.TERM;
  return Boolean(process.stderr.isTTY) && term !== undefined && term !== "" && term !== "dumb";
}
