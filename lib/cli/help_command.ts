/**
 * `vigocli help [COMMAND…] | exit-codes | --man` and `vigocli completion SHELL`: the documentation
 * commands. They take the finished program so that what they print is generated from the real tree.
 */
import { Argument, Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../errors.ts";
import { closest } from "../closest_name.ts";
import { commandSpec } from "./command_spec.ts";
import { completionScript, SHELLS } from "./completion.ts";
import { exitCodesText } from "./exit_codes.ts";
import { helpWidth } from "./help_wrap.ts";
import { manPage } from "./man_page.ts";
import { VERSION } from "../version.ts";
import { queueStdout } from "./stdout.ts";

/** `help`: a command's help, the exit-code table, or the man page. `root()` is the whole program. */
export function helpCommand(root: () => Command): Command {
  return new Command("help")
    .description("show help for a command, the exit-code table (`help exit-codes`), or the man page")
    .argument("[command...]", "command path, e.g. `backup restore`; or `exit-codes`")
    .addOption(new Option("--man", "print the man page (roff) of every command on stdout; takes no command"))
    .action((words, opts) => {
      if (opts.man) {
        // One page covers every command; printing it for `help backup restore --man` ignored the words.
        if (words.length > 0) {
          throw new UsageError(
            `help --man: takes no command (the page covers all; got ${JSON.stringify(words.join(" "))})`,
          );
        }
        queueStdout(manPage(commandSpec(root()), VERSION, new Date().toISOString().slice(0, 10)));
        return;
      }
      if (words.length === 1 && words[0] === "exit-codes") {
        queueStdout(`Exit codes:\n${exitCodesText(helpWidth())}\n`);
        return;
      }
      let cmd = root();
      for (const w of words) {
        const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
        if (!sub) {
          const names = cmd.commands.map((c) => c.name());
          if (cmd === root()) names.push("exit-codes");
          const hint = closest(w, names);
          throw new UsageError(
            `help: no command ${JSON.stringify(words.join(" "))}${hint ? ` (did you mean "${hint}"?)` : ""}`,
          );
        }
        cmd = sub as Command;
      }
      cmd.outputHelp();
    }) as unknown as Command;
}

/** `completion SHELL`: prints a completion script for bash, zsh or fish. */
export function completionCommand(root: () => Command): Command {
  return new Command("completion")
    .description("print a shell completion script (bash, zsh or fish) generated from the command tree")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .action((shell) => {
      queueStdout(completionScript(shell, commandSpec(root())));
    }) as unknown as Command;
}
