/**
 * `vigocli help --man`: a man(7) page generated from the command tree, the exit-code table and the
 * examples, so `man -l vigocli.1` says what `--help` says.
 */
import type { CommandSpec } from "./command_spec.ts";
import { flattenSpec } from "./command_spec.ts";
import { EXIT_CODE_TABLE } from "./exit_codes.ts";
import { HELP_EXAMPLES } from "./help_examples.ts";
import { wrapExample } from "./help_wrap.ts";

/** Columns an example line may take: man's 80 less the 7 an EXAMPLES line is indented by. */
const MAN_EXAMPLE_WIDTH = 73;

/**
 * Non-ASCII characters our texts use, as glyphs every groff device draws, ASCII ones included (`\(em` is
 * `--` there): raw UTF-8 is dropped with a warning under LANG=C, and `\[u2026]` has no ASCII form.
 */
const GLYPHS: Readonly<Record<string, string>> = {
  "…": "...",
  "—": "\\(em",
  "–": "\\(en",
  "→": "\\(->",
  "×": "\\(mu",
};

/**
 * Escapes text for roff: backslashes, a leading `.` or `'` that would start a request, and non-ASCII
 * characters ({@link GLYPHS}; any other by its code point, which only a Unicode device draws).
 */
function esc(s: string): string {
  return s.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(
    /[\u0080-\u{10ffff}]/gu,
    (ch) => GLYPHS[ch] ?? `\\[u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
  ).replace(/^([.'])/gm, "\\&$1");
}

/** Environment variables the program reads, for the ENVIRONMENT section. */
const ENVIRONMENT: readonly [string, string][] = [
  ["VIGO_SERVER_ROOT", "default for --server-root (and restore's --target)"],
  ["VIGO_SERVER_YAML", "default for --server-yaml"],
  ["VIGO_BACKUP_PASSWORD_FILE", "file holding the password of encrypted archives (after --password-command)"],
  ["VIGO_BACKUP_PASSWORD", "password of encrypted archives (after VIGO_BACKUP_PASSWORD_FILE)"],
  ["AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY", "S3 credentials when server.yaml has none"],
  ["VIGO_DEBUG", "1 prints the stack of internal errors"],
  [
    "BUN_JSC_useFTLJIT",
    "unset: backup restore and backup verify start again in place without the top JIT tier (faster on " +
    "small machines); 1 keeps it",
  ],
  ["NO_COLOR", "honoured; vigocli prints no colour anyway"],
];

/** The variables options read that {@link ENVIRONMENT} does not describe, each with the first option. */
function optionEnvironment(root: CommandSpec): [string, string][] {
  const listed = new Set(ENVIRONMENT.flatMap(([names]) => names.split(", ")));
  const found = new Map<string, string>();
  for (const c of flattenSpec(root)) {
    for (const o of c.options) {
      if (!o.envVar || listed.has(o.envVar) || found.has(o.envVar)) continue;
      found.set(o.envVar, `default for ${o.long} of vigocli ${c.path.join(" ")}: ${o.description}`);
    }
  }
  return [...found];
}

/** The page, `version` for the footer (e.g. `0.1.0`), `date` as YYYY-MM-DD. */
export function manPage(root: CommandSpec, version: string, date: string): string {
  const out: string[] = [
    // tells man(1) to run tbl(1) for the exit-status table
    `'\\" t`,
    `.TH VIGOCLI 1 "${date}" "vigocli ${esc(version)}" "User Commands"`,
    ".SH NAME",
    "vigocli \\- backup and recovery for a Vigo fleet configuration server",
    ".SH SYNOPSIS",
    ".B vigocli",
    ".I command",
    "[\\fIoptions\\fR] [\\fIarguments\\fR]",
    ".SH DESCRIPTION",
    esc(root.description),
    // the root's options, which every command takes as well
    ".SH OPTIONS",
    "Accepted before the command and after it.",
    ...root.options.filter((o) => !o.hidden).flatMap((o) => [".TP", `.B ${esc(o.flags)}`, esc(o.help)]),
    ".TP",
    `.B ${esc("-h, --help")}`,
    esc("the help of the command it follows, or of vigocli"),
    ".SH COMMANDS",
  ];
  for (const c of flattenSpec(root).slice(1)) {
    out.push(".TP", `.B vigocli ${esc(c.path.join(" "))}${c.usage ? ` ${esc(c.usage)}` : ""}`);
    out.push(...c.description.split("\n").map((l, i) => (i === 0 ? esc(l) : `.br\n${esc(l)}`)));
    const shown = c.options.filter((o) => !o.hidden);
    if (shown.length > 0) {
      out.push(".RS");
      for (const o of shown) out.push(".TP", `.B ${esc(o.flags)}`, esc(o.help));
      out.push(".RE");
    }
  }
  out.push(".SH EXIT STATUS", ".TS", "tab(|);", "r lx.");
  for (const r of EXIT_CODE_TABLE) out.push(`${r.code}|T{`, esc(r.meaning), "T}");
  out.push(".TE", ".SH ENVIRONMENT");
  for (const [name, what] of [...ENVIRONMENT, ...optionEnvironment(root)]) {
    out.push(".TP", `.B ${esc(name)}`, esc(what));
  }
  out.push(".SH EXAMPLES");
  for (const [path, lines] of Object.entries(HELP_EXAMPLES)) {
    const wrapped = lines.flatMap((l) => wrapExample(l, MAN_EXAMPLE_WIDTH));
    out.push(".SS", esc(`vigocli ${path}`.trimEnd()), ".nf", ...wrapped.map(esc), ".fi");
  }
  out.push(
    ".SH FILES",
    ".TP",
    ".B /srv/vigo/server.yaml",
    "server configuration; its backup: section names the replica URL and credentials",
    ".TP",
    ".B /srv/vigo/snapshots",
    "default paths.snapshots: archives and drill reports",
    ".SH SEE ALSO",
    "litestream(1), restic(1), tar(1) \\(em use \\fBtar \\-\\-force\\-local\\fR with archive names that contain colons",
  );
  return out.join("\n") + "\n";
}
