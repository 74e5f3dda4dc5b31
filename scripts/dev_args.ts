/**
 * The command line of a development script (`./dev test`, `./dev bench`, `scripts/crash_matrix.ts`, …):
 * `--help` prints the script's usage and exits 0; an unknown option or a bad value is one line naming
 * it, exit 2, before the script does anything. A stack trace from the argument parser helps nobody.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** What a script says about itself. */
export interface DevScript {
  /** Prefix of its messages, e.g. `bench`. */
  name: string;
  /** How to ask for its usage, e.g. `./dev bench --help`. */
  help: string;
  /** Printed by `--help`: a `Usage:` line, the options, and `Examples:`. */
  usage: string;
}

/** Exit code of a bad command line, the same as vigocli's usage errors. */
export const USAGE_EXIT = 2;

/** One line naming the problem and where the usage is, then exit 2. */
export function usageError(script: DevScript, message: string): never {
  console.error(`${script.name}: ${message} (see ${script.help})`);
  Deno.exit(USAGE_EXIT);
}

/**
 * `parseArgs` with `--help`/`-h` added: prints the usage and exits 0 when asked, and turns the
 * parser's complaints into {@link usageError}.
 */
export function parseDevArgs<T extends ParseArgsConfig>(
  script: DevScript,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  const withHelp = {
    ...config,
    args: config.args ?? Deno.args,
    options: { ...config.options, help: { type: "boolean", short: "h" } },
  } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (err) {
    // Node's advice on passing "-x" as a positional argument after `--` only lengthens the line.
    usageError(script, (err as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(script.usage);
    Deno.exit(0);
  }
  return parsed;
}
