/**
 * The one table of exit codes a person reads: printed by `vigocli help exit-codes`, appended to every
 * `--help`, and the source the README's table is checked against. The numbers come from
 * {@link ExitCode}; this file only says what each means to an operator.
 */
import { ExitCode, type ExitCodeValue } from "../errors.ts";
import { wrapWords } from "./help_wrap.ts";

/** One row: the code, the `kind` a `--json` error carries, and what it means. */
export interface ExitCodeRow {
  code: ExitCodeValue;
  kind: string;
  meaning: string;
}

/** Every exit code, in numeric order. */
export const EXIT_CODE_TABLE: readonly ExitCodeRow[] = [
  { code: ExitCode.Ok, kind: "ok", meaning: "success" },
  {
    code: ExitCode.Internal,
    kind: "internal",
    meaning: "internal error (a bug; VIGO_DEBUG=1 prints the stack)",
  },
  { code: ExitCode.Usage, kind: "usage", meaning: "bad command line" },
  {
    code: ExitCode.Config,
    kind: "config",
    meaning: "configuration missing or invalid (server.yaml, configcrate, credentials, PostgreSQL driver)",
  },
  {
    code: ExitCode.BadInput,
    kind: "bad_input",
    meaning: "input unreadable: malformed, truncated or corrupted archive, dump, replica; unsafe path",
  },
  { code: ExitCode.Busy, kind: "busy", meaning: "the database, target or lock is held by another process" },
  {
    code: ExitCode.Crypto,
    kind: "crypto",
    meaning:
      "decryption failed (wrong password, tampered data) or no password (also a password file that is missing or unreadable)",
  },
  {
    code: ExitCode.Backend,
    kind: "backend",
    meaning: "a storage backend failed after retries or refused the credentials",
  },
  {
    code: ExitCode.VerifyFailed,
    kind: "verify_failed",
    meaning: "input readable but a check found a problem (checksum mismatch, integrity_check, failed drill)",
  },
  { code: ExitCode.NotFound, kind: "not_found", meaning: "a named thing does not exist" },
  { code: ExitCode.Exists, kind: "exists", meaning: "refused to overwrite something that exists" },
  {
    code: ExitCode.Io,
    kind: "io",
    meaning: "operating-system failure (permission denied, disk full, I/O error)",
  },
  { code: ExitCode.Interrupted, kind: "interrupted", meaning: "interrupted (SIGINT/SIGTERM)" },
  {
    code: ExitCode.BrokenPipe,
    kind: "broken_pipe",
    meaning: "standard output closed early (its reader, e.g. head, exited); stopped quietly",
  },
];

/**
 * The table as aligned text lines of at most `width` columns, for `help exit-codes` and the `--help`
 * epilogue; a long meaning continues under itself.
 */
export function exitCodesText(width = 80): string {
  return EXIT_CODE_TABLE.map((r) =>
    wrapWords(r.meaning, Math.max(width - 7, 20)).map((l, i) =>
      `  ${i ? "   " : String(r.code).padStart(3)}  ${l}`
    )
      .join("\n")
  ).join("\n");
}
