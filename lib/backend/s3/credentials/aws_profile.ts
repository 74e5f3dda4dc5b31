/**
 * The AWS shared files: `~/.aws/credentials` (`[name]` sections) and `~/.aws/config` (`[profile name]`,
 * `[default]`), with AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE overriding the paths. A profile gives
 * static keys or a `credential_process` whose JSON output (Version 1) holds them.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../../errors.ts";
import { shellWords } from "../../../shell_words.ts";
import { type CredentialSource, type ExpiringCredentials, parseCredentialJson } from "./chain.ts";
import { findExecutable } from "../../../find_executable.ts";
import { withoutSecretEnv } from "../../../secrets/child_env.ts";

/**
 * Sections of an INI file: name → key → value (keys lower-cased, `#`/`;` comment lines dropped). A `#` or
 * `;` after a value is part of it: botocore's RawConfigParser has no inline comments, so the AWS CLI
 * signs with `AKID # note` too. As there, `key: value` is `key = value`, and the first `=` or `:` ends
 * the key: `a = b:c` and `a: b=c` are both key `a`.
 */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      section = out.get(head[1]) ?? new Map();
      out.set(head[1], section);
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (kv && section) section.set(kv[1].toLowerCase(), kv[2]);
  }
  return out;
}

/** The words of a `credential_process` line (see {@link shellWords}). */
export function splitCommandLine(line: string): string[] {
  return shellWords(line, (q) => new ConfigError(`credential_process: unterminated ${q} in ${line}`));
}

async function readIfExists(path: string): Promise<string | null> {
  if (!path) return null;
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ConfigError(`${path}: cannot read (${(err as Error).message})`);
  }
}

/** Runs `credential_process` (no shell, 60 s at most) and reads its JSON. */
function runCredentialProcess(command: string, from: string): Promise<ExpiringCredentials> {
  const [file, ...args] = splitCommandLine(command);
  if (!file) return Promise.reject(new ConfigError(`${from}: credential_process is empty`));
  if (findExecutable(file) === null) {
    return Promise.reject(new ConfigError(`${from}: credential_process ${file} not found`));
  }
  return new Promise((resolve, reject) => {
    // Without our secrets (lib/secrets/child_env.ts): the archive password is no business of a helper.
    execFile(...withoutSecretEnv(file, args), { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        // The command's stderr may hold secrets of its own: name the command and the exit, not the output.
        // Started through env(1): its argv (the secret names) is no part of the message either.
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        const why = e.code === "ENOENT" || (e.code as unknown) === 127
          ? "not found"
          : e.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"
          ? "failed (it printed more than 1 MiB)"
          : e.signal
          ? `failed (${e.killed ? "timed out after 60 s, " : ""}killed by ${e.signal})`
          : typeof e.code === "number"
          ? `failed (exit status ${e.code})`
          : `failed (${err.message.split("\n")[0]})`;
        reject(new ConfigError(`${from}: credential_process ${file} ${why}`));
        return;
      }
      try {
        resolve(parseCredentialJson(stdout, `${from}: credential_process ${file}`));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * The profile source: AWS_PROFILE (an error if it names no profile), else `default` when the files have
 * it. The credentials file's keys win over the config file's.
 */
export function profileSource(env: Record<string, string | undefined>): CredentialSource {
  // Without HOME there are no default files (a relative ".aws/credentials" would read the working directory).
  const home = env.HOME;
  const credentialsPath = env.AWS_SHARED_CREDENTIALS_FILE ?? (home ? join(home, ".aws", "credentials") : "");
  const configPath = env.AWS_CONFIG_FILE ?? (home ? join(home, ".aws", "config") : "");
  const explicit = env.AWS_PROFILE;
  const profile = explicit ?? "default";
  return {
    name: `AWS profile ${profile} (${credentialsPath}, ${configPath})`,
    async load() {
      const creds = parseIni((await readIfExists(credentialsPath)) ?? "").get(profile);
      const config = parseIni((await readIfExists(configPath)) ?? "")
        .get(profile === "default" ? "default" : `profile ${profile}`);
      if (!creds && !config) {
        if (explicit) {
          throw new ConfigError(
            `AWS_PROFILE=${explicit}: no such profile in ${credentialsPath} or ${configPath}`,
          );
        }
        return null;
      }
      const get = (k: string) => creds?.get(k) ?? config?.get(k);
      const from = `AWS profile ${profile}`;
      const id = get("aws_access_key_id"), secret = get("aws_secret_access_key");
      if (id || secret) {
        if (!id || !secret) {
          throw new ConfigError(`${from}: aws_access_key_id and aws_secret_access_key must be set together`);
        }
        return {
          accessKeyId: id,
          secretAccessKey: secret,
          sessionToken: get("aws_session_token") || undefined,
        };
      }
      const process = get("credential_process");
      if (process) return await runCredentialProcess(process, from);
      if (get("role_arn")) {
        throw new ConfigError(
          `${from}: role_arn profiles are not supported; use credential_process (e.g. aws configure export-credentials)`,
        );
      }
      if (explicit) throw new ConfigError(`${from}: has no aws_access_key_id or credential_process`);
      return null;
    },
  };
}
