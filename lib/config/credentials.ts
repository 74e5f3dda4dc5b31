/**
 * Credentials for a fresh host. server.yaml's `secret:NAME` values live in the encrypted store under
 * `<root>/secrets/`, which after a disaster is itself inside the backup. Until it is back, the backend
 * credentials come from the standard environment variables (`AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY`, or Litestream's `LITESTREAM_ACCESS_KEY_ID` / `LITESTREAM_SECRET_ACCESS_KEY`)
 * or from a `--credentials-file` (format: docs/guide/disaster-recovery.md). Parsing and merging are
 * pure; reading the file is the only I/O.
 */
import { readFile, stat } from "node:fs/promises";
import { ConfigError, toVigoError } from "../errors.ts";
import type { BackupConfig } from "./types.ts";

/** The backup: fields a credentials file may set. */
export interface Credentials {
  accessKeyId?: string;
  secretAccessKey?: string;
  /** SFTP password. */
  password?: string;
  /** SFTP private key. */
  keyPath?: string;
  knownHostsPath?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

/** Where fallback credentials come from: `--credentials-file` (wins) and the environment. */
export interface CredentialSources {
  file?: { path: string; values: Credentials };
  env?: Credentials;
}

/** File keys (as in server.yaml's backup: section) and their fields. */
const FILE_KEYS: Record<string, keyof Credentials> = {
  access_key_id: "accessKeyId",
  secret_access_key: "secretAccessKey",
  password: "password",
  key_path: "keyPath",
  known_hosts_path: "knownHostsPath",
  endpoint: "endpoint",
  region: "region",
  force_path_style: "forcePathStyle",
};

/** Environment variables for each secret field, in order of preference. */
export const CREDENTIAL_ENV: Partial<Record<keyof Credentials, string[]>> = {
  accessKeyId: ["AWS_ACCESS_KEY_ID", "LITESTREAM_ACCESS_KEY_ID"],
  secretAccessKey: ["AWS_SECRET_ACCESS_KEY", "LITESTREAM_SECRET_ACCESS_KEY"],
};

/** The server.yaml key of a field (`secretAccessKey` → `secret_access_key`). */
export function fileKeyOf(field: keyof Credentials): string {
  return Object.entries(FILE_KEYS).find(([, f]) => f === field)![0];
}

/**
 * Parses a credentials file: one `key: value` or `key = value` per line (YAML-like or INI-like), values
 * optionally quoted; `#` and `;` start comment lines; `[section]` lines are ignored. Keys are those of
 * server.yaml's backup: section. Unknown keys and malformed lines are a ConfigError naming the line.
 */
export function parseCredentialsFile(text: string, path: string): Credentials {
  const out: Credentials = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";") || /^\[.*\]$/.test(line)) continue;
    const m = /^([A-Za-z_]+)\s*[:=]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${path}: line ${i + 1}: expected "key: value" or "key = value"`);
    const field = FILE_KEYS[m[1]];
    if (!field) {
      throw new ConfigError(
        `${path}: line ${i + 1}: unknown key "${m[1]}" (known: ${Object.keys(FILE_KEYS).join(", ")})`,
      );
    }
    let value = m[2].trim();
    if (/^(["']).*\1$/.test(value) && value.length >= 2) value = value.slice(1, -1);
    if (value === "") throw new ConfigError(`${path}: line ${i + 1}: ${m[1]}: empty value`);
    if (field === "forcePathStyle") {
      if (value !== "true" && value !== "false") {
        throw new ConfigError(`${path}: line ${i + 1}: force_path_style: expected true or false`);
      }
      out.forcePathStyle = value === "true";
    } else out[field] = value;
  }
  return out;
}

/** Reads a credentials file; warns (returned) when others can read it. */
export async function loadCredentialsFile(
  path: string,
): Promise<{ source: NonNullable<CredentialSources["file"]>; warnings: string[] }> {
  let text: string;
  let mode: number;
  try {
    text = await readFile(path, "utf8");
    mode = (await stat(path)).mode;
  } catch (err) {
    throw toVigoError(err, path);
  }
  const warnings = (mode & 0o077) !== 0 ? [`${path}: readable by group or others; run chmod 600`] : [];
  return { source: { path, values: parseCredentialsFile(text, path) }, warnings };
}

/** The credentials the environment supplies (AWS_* first, then LITESTREAM_*). */
export function credentialsFromEnv(env: Record<string, string | undefined>): Credentials {
  const out: Credentials = {};
  for (const [field, names] of Object.entries(CREDENTIAL_ENV) as [keyof Credentials, string[]][]) {
    const name = names.find((n) => env[n]);
    if (name) (out as Record<string, unknown>)[field] = env[name];
  }
  return out;
}

/**
 * A secret field's fallback value: the credentials file's, else (only when `storeFailed`) the
 * environment's. The file wins even over a resolvable store: the operator named it explicitly.
 */
export function fallbackFor(
  sources: CredentialSources,
  field: keyof Credentials,
  storeFailed: boolean,
): string | undefined {
  const fromFile = sources.file?.values[field];
  if (typeof fromFile === "string") return fromFile;
  if (!storeFailed) return undefined;
  const fromEnv = sources.env?.[field];
  return typeof fromEnv === "string" ? fromEnv : undefined;
}

/** What would supply `field` on a fresh host, for the error message. */
export function fallbackHint(field: keyof Credentials): string {
  const names = CREDENTIAL_ENV[field] ?? [];
  const env = names.length ? `set ${names.join(" or ")} (with its pair), or ` : "";
  return `${env}give --credentials-file FILE with ${fileKeyOf(field)}`;
}

/**
 * `backup` as a fresh host sees it (pure): every field the credentials file sets overrides; then an
 * s3:// backup without keys takes them from the environment (LITESTREAM_* included, which the S3
 * backend alone would not read).
 */
export function applyCredentialSources(backup: BackupConfig, sources: CredentialSources): BackupConfig {
  const out = { ...backup };
  const v = sources.file?.values ?? {};
  const fields = [
    "keyPath",
    "knownHostsPath",
    "endpoint",
    "region",
    "accessKeyId",
    "secretAccessKey",
    "password",
  ];
  for (const f of fields as (keyof Credentials & keyof BackupConfig)[]) {
    if (v[f] !== undefined) (out as Record<string, unknown>)[f] = v[f];
  }
  if (v.forcePathStyle !== undefined) out.forcePathStyle = v.forcePathStyle;
  const env = sources.env ?? {};
  if (
    out.url.startsWith("s3://") && !out.accessKeyId && !out.secretAccessKey && env.accessKeyId &&
    env.secretAccessKey
  ) {
    out.accessKeyId = env.accessKeyId;
    out.secretAccessKey = env.secretAccessKey;
  }
  return out;
}
