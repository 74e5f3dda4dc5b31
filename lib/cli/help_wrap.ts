/**
 * Help text cut to the terminal's width (80 when stdout is not a terminal, as commander cuts the
 * options): prose at word boundaries, and example command lines so that each piece still pastes into a
 * shell: the `# why` comment moved onto its own line above, and a command that is still too long
 * continued with ` \` on the next line.
 */
import process from "node:process";

/** Columns help is cut to, the width commander uses for the options. */
export function helpWidth(): number {
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80;
}

/** `text` in lines of at most `width` columns, broken at spaces (a longer word stands alone). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** The words of a shell command line, a quoted string or `$(…)` kept as one with its spaces. */
function shellWords(command: string): string[] {
  return command.match(/(?:'[^']*'|"[^"]*"|\$\([^)]*\)|[^\s'"])+/g) ?? [];
}

/**
 * An example command line in lines of at most `width` columns where it can be: its `# why` comment on a
 * line of its own above it, then the command broken between words with ` \` continuations, each
 * continued line indented by four.
 */
export function wrapExample(example: string, width: number): string[] {
  if (example.length <= width) return [example];
  const at = example.search(/\s+# /);
  const command = at < 0 ? example : example.slice(0, at);
  const why = at < 0 ? "" : example.slice(at).trim().slice(2);
  const comment = why ? wrapWords(why, width - 2).map((l) => `# ${l}`) : [];
  if (command.length <= width) return [...comment, command];
  const lines: string[] = [];
  let line = "";
  for (const word of shellWords(command)) {
    // room for the " \" that continues a full line
    if (line.trim() && line.length + 1 + word.length + 2 > width) {
      lines.push(`${line} \\`);
      line = `    ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...comment, ...lines, line];
}
