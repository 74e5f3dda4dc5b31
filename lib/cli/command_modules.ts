/**
 * Which command modules a run loads. Commander needs a command's definition to parse its arguments, but
 * not any other command's, so a run that names one command (`backup download NAME …`) builds a tree with
 * that command alone; everything else (help in any form, completion, a bare group, an unknown or
 * misspelt command, an option before the command that is not a global flag) gets the whole tree, so
 * listings, suggestions and messages stay exactly as they were.
 */

/** One command's module: its path below the root and how to build it. */
export interface CommandModule<C> {
  path: string[];
  load(): Promise<C>;
}

/** The root's own options that take no value: they may come before the command's name. */
const GLOBAL_FLAGS = new Set(["-v", "--verbose", "-q", "--quiet", "--progress"]);

/** Asking for help anywhere on the line needs every command (the tree, `help`'s listings). */
const HELP = new Set(["-h", "--help", "help", "completion"]);

/** True when the line asks for help anywhere in it (or for a completion script). */
export function asksForHelp(argv: string[]): boolean {
  return argv.some((a) => HELP.has(a));
}

/** The line from the command's name on: `argv` without the root's flags before it. */
export function commandWords(argv: string[]): string[] {
  let first = 0;
  while (first < argv.length && GLOBAL_FLAGS.has(argv[first])) first++;
  return argv.slice(first);
}

/** The modules to load for `argv` (undefined: all of them, as tests inspecting the tree want). */
export function commandsToLoad<C>(all: CommandModule<C>[], argv?: string[]): CommandModule<C>[] {
  if (argv === undefined || asksForHelp(argv)) return all;
  const words = commandWords(argv);
  const named = all.filter((c) => c.path.every((w, i) => words[i] === w));
  return named.length === 1 ? named : all;
}
