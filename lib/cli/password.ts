/**
 * Where the archive password comes from, in order (restic's habits): `--password-file FILE`,
 * `--password-command CMD`, the file named by `VIGO_BACKUP_PASSWORD_FILE`, the `VIGO_BACKUP_PASSWORD`
 * environment variable, then a no-echo prompt on the controlling terminal (`/dev/tty`, so it works even
 * when stdin carries data). Without any of them the command fails at once instead of waiting for input
 * that can never come (cron, CI, `setsid`).
 */
import { spawnSync } from "node:child_process";
import { warn } from "./output.ts";
import { closeSync, openSync, read, statSync, writeSync } from "node:fs";
import { isatty, ReadStream } from "node:tty";
import process from "node:process";
import { CryptoError, ExitCode, toVigoError, VigoError } from "../errors.ts";
import { shellWords } from "../shell_words.ts";
import { findExecutable } from "../find_executable.ts";
import { readFileUpTo } from "../fsutil/regular_file.ts";
import { withoutSecretEnv } from "../secrets/child_env.ts";

/** Environment variable holding the archive password for non-interactive use. */
export const PASSWORD_ENV = "VIGO_BACKUP_PASSWORD";
/** Environment variable naming a file that holds the archive password. */
const PASSWORD_FILE_ENV = "VIGO_BACKUP_PASSWORD_FILE";

/** How many times a mismatched confirmation or an empty entry is re-asked before giving up. */
const PROMPT_ATTEMPTS = 3;

/** Options for {@link obtainPassword}. */
export interface PasswordOptions {
  /** Ask twice on the terminal (creating an archive); once when reading one. */
  confirm: boolean;
  /** `--password-file FILE`: takes precedence over the environment and the terminal. */
  passwordFile?: string;
  /** `--password-command CMD`: after `--password-file`, before the environment. */
  passwordCommand?: string;
}

/** Returns the password from the first source available; throws a CryptoError when there is none. */
export async function obtainPassword(opts: PasswordOptions): Promise<string> {
  if (opts.passwordFile !== undefined) return readPasswordFile(opts.passwordFile);
  if (opts.passwordCommand !== undefined) return runPasswordCommand(opts.passwordCommand);
  const fileFromEnv = process.env[PASSWORD_FILE_ENV];
  if (fileFromEnv !== undefined && fileFromEnv !== "") return readPasswordFile(fileFromEnv);
  const fromEnv = passwordFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  const tty = openTerminal();
  if (!tty) {
    throw new CryptoError(
      `no password: use --password-file, --password-command, ${PASSWORD_FILE_ENV} or ${PASSWORD_ENV} ` +
        "(no terminal to prompt on)",
    );
  }
  try {
    return await promptPassword(tty, opts.confirm);
  } finally {
    tty.close();
  }
}

/**
 * VIGO_BACKUP_PASSWORD, refused unless it is valid UTF-8 like every other source: Bun decodes the bytes
 * with U+FFFD for each invalid sequence (so `p\xe4ss` and `p\xffss` were one password), Deno throws.
 */
function passwordFromEnv(): string | undefined {
  const invalid = new CryptoError(
    `${PASSWORD_ENV} is not valid UTF-8 (it holds U+FFFD, the character invalid UTF-8 decodes to; ` +
      "a password with that character can come from --password-file)",
  );
  let value: string | undefined;
  try {
    value = process.env[PASSWORD_ENV];
  } catch {
    throw invalid; // Deno: InvalidData, "environment variable was not valid unicode"
  }
  if (value === undefined) return undefined;
  if (value === "") throw new CryptoError(`${PASSWORD_ENV} is set but empty`);
  if (value.includes("\uFFFD")) throw invalid;
  return value;
}

/**
 * The password of an archive being read, for the library's `password` option: asked (from the sources
 * of {@link obtainPassword}) only when the archive turns out to be encrypted.
 */
export function passwordSource(passwordFile?: string, passwordCommand?: string): () => Promise<string> {
  return () => obtainPassword({ confirm: false, passwordFile, passwordCommand });
}

/**
 * Runs `--password-command` without a shell: CMD is split into words like a shell would split a plain
 * command line (whitespace, '…' and "…" quoting, backslash escapes) but nothing is expanded, as restic
 * does; `sh -c '…'` gives pipes and variables to whoever wants them. Its stdout (one trailing newline
 * dropped) is the password and is never echoed, not even in the error; its stderr goes to ours, so a
 * password manager can explain itself.
 */
function runPasswordCommand(command: string): string {
  const argv = splitCommandLine(command);
  if (argv.length === 0) throw new CryptoError("--password-command is empty");
  const fail = (why: string) => new CryptoError(`password command \`${command}\` ${why}`);
  if (findExecutable(argv[0]) === null) throw fail("could not run: ENOENT (no such executable)");
  // Without our secrets (lib/secrets/child_env.ts): VIGO_BACKUP_PASSWORD set as well is none of its business.
  const [file, args] = withoutSecretEnv(argv[0], argv.slice(1));
  const r = spawnSync(file, args, { stdio: ["inherit", "pipe", "inherit"], maxBuffer: PASSWORD_COMMAND_MAX });
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  // ENOBUFS: it ran, and printed more than maxBuffer (it was then killed): not a failure to start.
  if (code === "ENOBUFS") throw fail("printed more than 1 MiB: no password is that long");
  if (r.error) throw fail(`could not run: ${code ?? r.error.message}`);
  if (r.signal) throw fail(`was killed by ${r.signal}`);
  if (r.status !== 0) throw fail(`exited with status ${r.status} (its output is not shown)`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(r.stdout);
  } catch {
    throw fail("printed a password that is not valid UTF-8");
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw fail("printed an empty password");
  return password;
}

/** The words of a `--password-command` (see {@link shellWords}). */
export function splitCommandLine(line: string): string[] {
  return shellWords(line, (q) => new CryptoError(`--password-command: unterminated ${q} in \`${line}\``));
}

/** Bytes of output a `--password-command` may print before it is stopped. */
const PASSWORD_COMMAND_MAX = 1 << 20;

/** Bytes a password file may have: /dev/zero or a huge file given by mistake is refused, not read whole. */
const PASSWORD_FILE_MAX = 64 * 1024;

/**
 * Reads a password file: warns when others can read a regular one, drops one trailing newline. Every
 * failure is "no password" (exit 6, like an empty file) in one line that calls it the password file: a
 * bare "no such file or directory" (exit 9) did not say which file the command had wanted.
 */
function readPasswordFile(path: string): string {
  let bytes: Uint8Array;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new CryptoError(`${path}: password file is a directory`);
    if (st.isFile() && (st.mode & 0o004) !== 0) {
      warn(`${path}: password file is world-readable (chmod 600 it)`);
    }
    // Whatever else it is: a pipe (`--password-file <(pass show vigo)`) is a password file too.
    bytes = readFileUpTo(path, PASSWORD_FILE_MAX + 1);
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === "ENOENT") throw new CryptoError(`${path}: password file not found`, { cause: err });
    const why = toVigoError(err, "").message; // the OS's reason alone ("permission denied")
    throw new CryptoError(`${path}: password file cannot be read (${why})`, { cause: err });
  }
  if (bytes.length > PASSWORD_FILE_MAX) {
    throw new CryptoError(`${path}: password file is larger than ${PASSWORD_FILE_MAX} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CryptoError(`${path}: password file is not valid UTF-8`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new CryptoError(`${path}: password file is empty`);
  return password;
}

async function promptPassword(tty: Terminal, confirm: boolean): Promise<string> {
  for (let attempt = 1; attempt <= PROMPT_ATTEMPTS; attempt++) {
    const first = await tty.readHidden(confirm ? "New archive password: " : "Archive password: ");
    if (first === "") {
      tty.write("empty password, try again\n");
      continue;
    }
    if (first === null) {
      tty.write("password is not valid UTF-8 (is the terminal set to UTF-8?), try again\n");
      continue;
    }
    if (!confirm) return first;
    if (await tty.readHidden("Repeat password: ") === first) return first;
    tty.write("passwords do not match, try again\n");
  }
  throw new CryptoError(`no password: ${PROMPT_ATTEMPTS} attempts failed on the terminal`);
}

/**
 * The controlling terminal in raw mode: we echo nothing and handle editing keys ourselves. Reads are
 * asynchronous so that a signal's handler runs while the prompt waits (a blocking read held a SIGTERM or
 * SIGHUP until a key was pressed, so start-up's handlers had to be dropped and the signal's default
 * killed the command: exit 143 with the terminal left raw, echo off). Whoever then exits (start-up's
 * handler, 130 and 'interrupted', or a command's own cleanup) exits through process.exit, whose 'exit'
 * event puts the terminal back first.
 */
interface Terminal {
  /** The line typed, or null when it is not valid UTF-8 (never decoded with U+FFFD: two passwords would meet). */
  readHidden(prompt: string): Promise<string | null>;
  write(text: string): void;
  close(): void;
}

const CTRL_C = 0x03, CTRL_D = 0x04, BACKSPACE = 0x08, CTRL_U = 0x15, DELETE = 0x7f, CR = 0x0d, LF = 0x0a;

function openTerminal(): Terminal | undefined {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    return undefined; // ENXIO: no controlling terminal
  }
  if (!isatty(fd)) {
    closeSync(fd);
    return undefined;
  }
  // The stream is only used to switch raw mode; reading is done with fs.read, one call per need, because
  // Bun keeps a pending stream read alive after destroy() and the process would never exit.
  const modes = new ReadStream(fd);
  const restore = () => {
    try {
      modes.setRawMode(false);
    } catch {
      // Exiting anyway: the terminal may be gone (SIGHUP).
    }
  };
  process.on("exit", restore);
  modes.setRawMode(true);
  const write = (text: string) => void writeSync(fd, text);
  const buf = new Uint8Array(256);
  let pending: number[] = []; // bytes typed ahead of the current prompt (a pasted "pw\npw\n")
  let afterCr = false; // a CR LF split across reads must not end the next line at once

  const readSome = () =>
    new Promise<number>((resolve, reject) =>
      read(fd, buf, 0, buf.length, null, (err, n) => err ? reject(err) : resolve(n))
    );
  const nextByte = async (): Promise<number> => {
    while (pending.length === 0) {
      const n = await readSome();
      if (n === 0) return CTRL_D;
      pending = Array.from(buf.subarray(0, n));
    }
    return pending.shift()!;
  };

  const readHidden = async (prompt: string): Promise<string | null> => {
    write(prompt);
    const line: number[] = [];
    try {
      for (;;) {
        const b = await nextByte();
        const skip = afterCr && b === LF && line.length === 0;
        afterCr = b === CR;
        if (skip) continue;
        if (b === CR || b === LF) return decodeLine(line);
        if (b === CTRL_C) {
          throw new VigoError("interrupted at the password prompt", ExitCode.Interrupted, "interrupted");
        }
        if (b === CTRL_D && line.length === 0) {
          throw new CryptoError("no password: end of input at the password prompt");
        }
        if (b === BACKSPACE || b === DELETE) dropLastChar(line);
        else if (b === CTRL_U) line.length = 0;
        else if (b >= 0x20 || b === 0x09) line.push(b);
      }
    } finally {
      line.fill(0);
      write("\n");
    }
  };

  return {
    readHidden,
    write,
    close() {
      process.off("exit", restore);
      try {
        modes.setRawMode(false);
      } finally {
        modes.destroy(); // closes fd
      }
    },
  };
}

/** The bytes typed as text, or null when they are not valid UTF-8 (see {@link Terminal.readHidden}). */
function decodeLine(line: number[]): string | null {
  const bytes = Uint8Array.from(line);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  } finally {
    bytes.fill(0);
  }
}

/** Removes the last UTF-8 character (its continuation bytes 10xxxxxx and its lead byte). */
function dropLastChar(line: number[]): void {
  while (line.length > 0 && (line[line.length - 1] & 0xc0) === 0x80) line.pop();
  line.pop();
}
