/**
 * How a path is written into a unit file so that systemd reads it back unchanged, for the three places
 * our units hold one (systemd.syntax(7) "Quoting", systemd.service(5) "Command lines", systemd.exec(5)
 * ReadWritePaths=); checked against systemd 252 with `systemd --test`, which prints what it parsed.
 *
 * - ExecStart='s executable: quotes and C escapes are undone, `%` specifiers expanded, `$` left alone
 *   (a doubled `$$` stayed two: "…/bin$$dir/vigocli is not executable"); then quotes, backslashes and
 *   control characters are refused ("Executable name contains special characters").
 * - ExecStart='s arguments: as above, and `$` expands variables at each start (`$$` is one `$`).
 * - a ReadWritePaths= entry: quotes are undone but not C escapes (`"\n"` reads back as `n`), so a
 *   control character has no spelling at all.
 */

/** Words any of the three places takes as they are (`%` is doubled all the same). */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

// Control characters are exactly what these look for (the lint rule guards against them by accident).
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const UNFIT_FOR_EXECUTABLE = /["'\\\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const TO_ESCAPE = /[\x00-\x1f\x7f"\\]/g;

/** `c`, a character systemd refuses, in words for an error message. */
function describe(c: string): string {
  if (c === "\n") return "a newline";
  if (c === "\t") return "a tab";
  if (c === '"') return 'a double quote (")';
  if (c === "'") return "a single quote (')";
  if (c === "\\") return "a backslash (\\)";
  return `the control character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** What in `path` systemd does not accept in ExecStart='s executable, in words; undefined when nothing. */
export function unfitForExecutable(path: string): string | undefined {
  const c = UNFIT_FOR_EXECUTABLE.exec(path)?.[0];
  return c === undefined ? undefined : describe(c);
}

/** What in `path` no ReadWritePaths= entry can spell, in words; undefined when nothing. */
export function unfitForPathList(path: string): string | undefined {
  const c = CONTROL.exec(path)?.[0];
  return c === undefined ? undefined : describe(c);
}

/** `path` for a one-line message: JSON-quoted when it holds a control character (a newline). */
export function printable(path: string): string {
  return CONTROL.test(path) ? JSON.stringify(path) : path;
}

/** ExecStart='s executable; `path` is one {@link unfitForExecutable} finds nothing in. */
export function executableWord(path: string): string {
  const p = path.replaceAll("%", "%%");
  return PLAIN_WORD.test(path) ? p : `"${p}"`;
}

const C_ESCAPES: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\" };

/** One ExecStart= argument: any string, spelled with C escapes inside quotes where it must be. */
export function argumentWord(word: string): string {
  const w = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (PLAIN_WORD.test(word)) return w;
  const escaped = w.replace(
    TO_ESCAPE,
    (c) => C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${escaped}"`;
}

/**
 * One ReadWritePaths= entry, `-` first when a missing path must not fail the unit; `path` is one
 * {@link unfitForPathList} finds nothing in. Quoted whenever it is not plain: a bare `'` opened a quote
 * that never closed, and systemd dropped the whole setting ("Failed to extract first word, ignoring").
 */
export function pathListWord(path: string, ignoreMissing = false): string {
  const p = path.replaceAll("%", "%%");
  const word = PLAIN_WORD.test(path) ? p : `"${p.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return ignoreMissing ? `-${word}` : word;
}
