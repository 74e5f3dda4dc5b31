/**
 * The command tree as plain data (paths, arguments, options), read once from commander so that the shell
 * completions and the man page are generated from the same tree the parser uses and cannot drift from it.
 */
import type { Command } from "@commander-js/extra-typings";

/** One option of a command. */
export interface OptionSpec {
  /** As written in help, e.g. `-o, --output <path>`. */
  flags: string;
  /** `--output`. */
  long?: string;
  /** `-o`. */
  short?: string;
  /** Whether the option takes a value. */
  takesValue: boolean;
  /** The values it takes, when they are a fixed set (`--log-level`). */
  choices?: readonly string[];
  /** Not in help or the man page (the --target/--server-root twin), but accepted and completed. */
  hidden: boolean;
  description: string;
  /** The description as `--help` shows it: with its choices, default, environment variable, "required". */
  help: string;
  /** The environment variable that gives its value when the command line does not. */
  envVar?: string;
}

/** One command with everything below it. */
export interface CommandSpec {
  /** Names from the root, e.g. `["backup", "restore"]`; empty for the root. */
  path: string[];
  /** Usage without `[options]`/`[command]`, e.g. `<archive>`. */
  usage: string;
  description: string;
  options: OptionSpec[];
  /** Whether it takes arguments, required or optional (`<archive>`, `[out]`). */
  takesArguments: boolean;
  /** The values of its first argument, when they are a fixed set (`completion <shell>`). */
  argChoices?: readonly string[];
  subcommands: CommandSpec[];
}

/**
 * Reads `cmd`: its visible commands (commander's implicit help command left out) and every option, hidden
 * ones marked.
 */
export function commandSpec(cmd: Command, path: string[] = []): CommandSpec {
  const help = cmd.createHelp();
  // -h/--help is on every command; completions add it themselves and the man page says it once
  const options = cmd.options.filter((o) => o.long !== "--help").map((o) => ({
    flags: o.flags,
    long: o.long,
    short: o.short,
    takesValue: o.required || o.optional,
    choices: o.argChoices,
    hidden: o.hidden,
    description: o.description,
    help: help.optionDescription(o),
    envVar: o.envVar,
  }));
  const subcommands = (help.visibleCommands(cmd) as Command[])
    .filter((sub) => cmd.commands.includes(sub))
    .map((sub) => commandSpec(sub, [...path, sub.name()]));
  return {
    path,
    usage: cmd.usage().replace(/\[(options|command)\]\s*/g, "").trim(),
    description: cmd.description(),
    options,
    takesArguments: cmd.registeredArguments.length > 0,
    argChoices: cmd.registeredArguments[0]?.argChoices,
    subcommands,
  };
}

/** Every command of the tree, depth first, root first. */
export function flattenSpec(root: CommandSpec): CommandSpec[] {
  return [root, ...root.subcommands.flatMap(flattenSpec)];
}
