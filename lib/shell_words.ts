/**
 * The words of a command line that is run without a shell (`--password-command`, AWS
 * `credential_process`): split as a POSIX shell splits a plain command line — whitespace separates,
 * '…' and "…" group, a backslash escapes (inside "…" only before " \ $ `) — and nothing is expanded.
 * One splitter for both, so that a quoting rule a user learnt for one holds for the other.
 */

/**
 * Splits `line` into words. `unterminated` makes the error for an unclosed quote: each caller names its
 * own setting, with its own exit code.
 */
export function shellWords(line: string, unterminated: (quote: "'" | '"') => Error): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (c === "\\" && i + 1 < line.length && (quote === undefined || '"\\$`'.includes(line[i + 1]))) {
      word = (word ?? "") + line[++i];
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (quote) throw unterminated(quote);
  if (word !== undefined) words.push(word);
  return words;
}
