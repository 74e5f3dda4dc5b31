/**
 * `vigocli completion bash|zsh|fish`: completion scripts generated from the command tree. Each script is
 * a lookup table (sub-commands, options and value-taking options per command path) plus one small walker
 * that finds the command path in the words typed so far; values of options and arguments complete from their
 * fixed set when they have one (`--log-level`, `completion <shell>`), else as files. The global flags (-q, -v,
 * --progress) complete after a command too, where they are accepted as well.
 */
import type { CommandSpec, OptionSpec } from "./command_spec.ts";
import { flattenSpec } from "./command_spec.ts";

/** Shells we generate for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@link SHELLS}. */
export type Shell = typeof SHELLS[number];

interface Row {
  path: string;
  subs: string[];
  options: string[];
  valued: string[];
  /** Each value-taking flag with a fixed set of values, and the set. */
  choices: [string, readonly string[]][];
  /** The fixed values of the first argument, or none. */
  argChoices: readonly string[];
}

const flagsOf = (o: OptionSpec) => [o.long, o.short].filter((f): f is string => !!f);

/** The options `c` accepts: its own, and below the root the global ones (all of the root's but --version). */
function acceptedOptions(root: CommandSpec, c: CommandSpec): OptionSpec[] {
  return c === root ? c.options : [...c.options, ...root.options.filter((o) => o.long !== "--version")];
}

function rows(root: CommandSpec): Row[] {
  return flattenSpec(root).map((c) => {
    const options = acceptedOptions(root, c);
    return {
      path: c.path.join(" "),
      subs: c.subcommands.map((s) => s.path[s.path.length - 1]),
      options: [...options.flatMap(flagsOf), "-h", "--help"],
      valued: options.filter((o) => o.takesValue).flatMap(flagsOf),
      choices: options.flatMap((o) =>
        o.choices ? flagsOf(o).map((f) => [f, o.choices!] as [string, readonly string[]]) : []
      ),
      argChoices: c.argChoices ?? [],
    };
  });
}

/** Single-quoted for sh and fish; our names and flags never contain a quote, but be safe. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function bashFunctions(root: CommandSpec): string {
  const table = (name: string, pick: (r: Row) => string[]) =>
    [
      `_vigocli_${name}() {`,
      `  case "$1" in`,
      ...rows(root).filter((r) => pick(r).length > 0).map((r) =>
        `    ${q(r.path)}) echo ${q(pick(r).join(" "))} ;;`
      ),
      `  esac`,
      `}`,
    ].join("\n");
  const choices = [
    `_vigocli_choices() {`,
    `  case "$1|$2" in`,
    ...rows(root).flatMap((r) =>
      r.choices.map(([flag, values]) => `    ${q(`${r.path}|${flag}`)}) echo ${q(values.join(" "))} ;;`)
    ),
    `  esac`,
    `}`,
  ].join("\n");
  return [
    table("subs", (r) => r.subs),
    table("opts", (r) => r.options),
    table("valued", (r) => r.valued),
    table("args", (r) => [...r.argChoices]),
    choices,
    `_vigocli() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" w i skip=0 opt="" values help=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    # bash splits --opt=VALUE at the "=" (COMP_WORDBREAKS): the word after it is the value
    if [[ $w == = ]]; then skip=1; continue; fi
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    if [[ $w == -* ]]; then
      [[ " $(_vigocli_valued "$path") " == *" $w "* ]] && skip=1 && opt=$w
      continue
    fi
    [[ " $(_vigocli_subs "$path") " == *" $w "* ]] && path="\${path:+$path }$w"
    # the words after help name a command: walk them from the top again
    if [[ $help == 0 && $path == help ]]; then help=1; path=""; fi
  done
  # --opt=<TAB>: the "=" is the word being completed, and the value starts after it
  [[ $skip == 1 && $cur == = ]] && cur=""
  if [[ $skip == 1 ]]; then
    values=$(_vigocli_choices "$path" "$opt")
    if [[ -n $values ]]; then COMPREPLY=($(compgen -W "$values" -- "$cur"))
    else COMPREPLY=($(compgen -f -- "$cur")); fi
  elif [[ $help == 1 && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_vigocli_opts help)" -- "$cur"))
  elif [[ $help == 1 ]]; then
    values=$(_vigocli_subs "$path")
    [[ -z $path ]] && values+=" exit-codes"
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_vigocli_opts "$path")" -- "$cur"))
  elif [[ -n $(_vigocli_subs "$path") ]]; then
    COMPREPLY=($(compgen -W "$(_vigocli_subs "$path")" -- "$cur"))
  elif [[ -n $(_vigocli_args "$path") ]]; then
    COMPREPLY=($(compgen -W "$(_vigocli_args "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}`,
  ].join("\n");
}

function fishScript(root: CommandSpec): string {
  const table = (name: string, pick: (r: Row) => string[]) =>
    [
      `function __vigocli_${name}`,
      `  switch "$argv[1]"`,
      ...rows(root).filter((r) => pick(r).length > 0).flatMap((r) => [
        `    case ${q(r.path)}`,
        `      printf '%s\\n' ${pick(r).map(q).join(" ")}`,
      ]),
      `  end`,
      `end`,
    ].join("\n");
  const lines = [
    "# vigocli fish completion, generated by `vigocli completion fish`",
    "complete -c vigocli -f",
    table("subs", (r) => r.subs),
    table("valued", (r) => r.valued),
    `function __vigocli_path
  set -l words (commandline -opc)
  set -e words[1]
  set -l path
  # after help: the command it is asked about, printed instead of the path with --asked
  set -l asked
  set -l skip 0
  for w in $words
    if test $skip = 1
      set skip 0
      continue
    end
    if string match -q -- '-*' $w
      contains -- $w (__vigocli_valued (string join ' ' $path)); and set skip 1
      continue
    end
    if test "$path" = help
      contains -- $w (__vigocli_subs (string join ' ' $asked)); and set -a asked $w
      continue
    end
    contains -- $w (__vigocli_subs (string join ' ' $path)); and set -a path $w
  end
  if test "$argv[1]" = --asked
    string join ' ' $asked
  else
    string join ' ' $path
  end
end`,
    // help's words name a command, walked from the top (see --asked above)
    `complete -c vigocli -n 'test "$(__vigocli_path)" = help' -a '(__vigocli_subs (__vigocli_path --asked))'`,
    `complete -c vigocli -n 'test "$(__vigocli_path)" = help; and test -z "$(__vigocli_path --asked)"' ` +
    `-a exit-codes -d 'what each exit code means'`,
  ];
  for (const c of flattenSpec(root)) {
    const cond = q(`test "$(__vigocli_path)" = ${q(c.path.join(" "))}`);
    for (const s of c.subcommands) {
      const name = s.path[s.path.length - 1];
      lines.push(`complete -c vigocli -n ${cond} -a ${q(name)} -d ${q(firstLine(s.description))}`);
    }
    for (const o of acceptedOptions(root, c)) {
      const parts = [`complete -c vigocli -n ${cond}`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
      if (o.choices) parts.push(`-x -a ${q(o.choices.join(" "))}`);
      else if (o.takesValue) parts.push("-r -F");
      parts.push(`-d ${q(firstLine(o.description))}`);
      lines.push(parts.join(" "));
    }
    if (c.argChoices) lines.push(`complete -c vigocli -n ${cond} -a ${q(c.argChoices.join(" "))}`);
    // help's arguments are command names, completed above
    else if (c.subcommands.length === 0 && c.takesArguments && c.path.join(" ") !== "help") {
      lines.push(`complete -c vigocli -n ${cond} -F`);
    }
  }
  lines.push(`complete -c vigocli -s h -l help -d 'display help for command'`);
  return lines.join("\n") + "\n";
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

/** The completion script for `shell`. */
export function completionScript(shell: Shell, root: CommandSpec): string {
  switch (shell) {
    case "bash":
      return `# vigocli bash completion, generated by \`vigocli completion bash\`\n${bashFunctions(root)}\n` +
        `complete -o filenames -F _vigocli vigocli\n`;
    case "zsh":
      // zsh's bashcompinit runs bash completion functions as they are: one walker for both shells.
      // Installed in $fpath, this file is the body compinit autoloads as _vigocli on the first TAB: that run
      // only registered the completion, and the TAB completed nothing; it completes as well now.
      return `#compdef vigocli\n# vigocli zsh completion, generated by \`vigocli completion zsh\`\n` +
        `autoload -U +X bashcompinit && bashcompinit\n${bashFunctions(root)}\n` +
        `complete -o filenames -F _vigocli vigocli\n` +
        `if (( \${+compstate} )); then _bash_complete -o filenames -F _vigocli; fi\n`;
    case "fish":
      return fishScript(root);
  }
}
