/**
 * The whole command tree for the root `--help`: commander only lists one level, and an operator on a
 * recovery host should see `backup restore` without knowing to ask `backup --help` first.
 */
import type { Command } from "@commander-js/extra-typings";
import { wrapWords } from "./help_wrap.ts";

/** One visible command path with its usage and first description line. */
export interface TreeEntry {
  /** Space-separated path below the root, e.g. `backup restore`. */
  path: string;
  /** Commander's usage without the `[options]`/`[command]` noise, e.g. `<archive>`. */
  usage: string;
  /** The description's first clause, shortened (see {@link summarize}). */
  summary: string;
}

/** Longest summary kept on a tree line; `vigocli <command> --help` has the full description. */
const SUMMARY_MAX = 64;

/** The description's first clause (up to " (", "; " or ". "), cut at a word to {@link SUMMARY_MAX}. */
export function summarize(description: string): string {
  const first = description.split("\n")[0].split(/ \(|; |\. /)[0].trim();
  if (first.length <= SUMMARY_MAX) return first;
  const cut = first.slice(0, SUMMARY_MAX - 1);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), 1))}…`;
}

/** Lists every visible leaf and group below `root`, depth first, in declaration order. */
export function commandTree(root: Command): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    const help = cmd.createHelp();
    for (const sub of help.visibleCommands(cmd) as Command[]) {
      // commander's implicit `help` command is listed by the root's own help already
      if (!cmd.commands.includes(sub)) continue;
      const path = [...prefix, sub.name()];
      const usage = sub.usage().replace(/\[(options|command)\]\s*/g, "").trim();
      out.push({ path: path.join(" "), usage, summary: summarize(sub.description()) });
      walk(sub, path);
    }
  };
  walk(root, []);
  return out;
}

/**
 * Formats {@link commandTree} as a help section of at most `columns` columns: `  vigocli <path> <usage>
 * <summary>` lines, each summary wrapped in its column, or under its command when the column is narrow.
 */
export function commandTreeText(root: Command, columns = 80): string {
  const entries = commandTree(root);
  const terms = entries.map((e) => `${root.name()} ${e.path} ${e.usage}`.trimEnd());
  const width = Math.max(0, ...terms.map((t) => t.length));
  const room = columns - width - 4;
  const lines = entries.flatMap((e, i) => {
    if (room < MIN_SUMMARY_COLUMN) {
      return [`  ${terms[i]}`, ...wrapWords(e.summary, columns - 6).map((l) => `      ${l}`)];
    }
    return wrapWords(e.summary, room).map((l, j) => `  ${(j ? "" : terms[i]).padEnd(width)}  ${l}`.trimEnd());
  });
  return `\nCommand tree:\n${lines.join("\n")}\n`;
}

/** Narrowest summary column; below it a summary goes under its command. */
const MIN_SUMMARY_COLUMN = 24;
