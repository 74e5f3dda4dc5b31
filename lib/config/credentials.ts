/**
 * Credentials for a fresh host. server.yaml's `secret:NAME` values live in the encrypted store under
 * `<root>/secrets/`, which after a disaster is itself inside the backup. Until it is back, S3 keys come
 * from the S3 credential chain (lib/backend/s3/credentials/: LITESTREAM_*, AWS_*, AWS_PROFILE, …), whose
 * first source is a `--credentials-file` (format: docs/guide/disaster-recovery.md); the file also
 * supplies SFTP keys and passwords, GCS HMAC keys and endpoint settings. Parsing and merging are pure;
 * reading the file is the only I/O.
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

/** `--credentials-file`, when given: its path and values. */
export interface CredentialSources {
  file?: { path: string; values: Credentials };
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

/** True for URLs whose keys the S3 credential chain looks up (environment, profile, instance role). */
export function usesS3Chain(url: string): boolean {
  return url.startsWith("s3://");
}

/** The credentials file's value for a secret field, if it has one. */
export function fileValueFor(sources: CredentialSources, field: keyof Credentials): string | undefined {
  const v = sources.file?.values[field];
  return typeof v === "string" ? v : undefined;
}

/** What would supply `field` on a fresh host, for the error message. */
export function fallbackHint(field: keyof Credentials, url: string): string {
  if (usesS3Chain(url) && (field === "accessKeyId" || field === "secretAccessKey")) {
    return "set LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY " +
      "(or AWS_PROFILE), or give --credentials-file FILE with access_key_id and secret_access_key";
  }
  return `give --credentials-file FILE with ${fileKeyOf(field)}`;
}

/**
 * `backup` as a fresh host sees it (pure): every field the credentials file sets overrides server.yaml,
 * except an s3:// URL's keys, which become the first source of the S3 credential chain instead.
 */
export function applyCredentialSources(backup: BackupConfig, sources: CredentialSources): BackupConfig {
  const file = sources.file;
  if (!file) return backup;
  const out = { ...backup };
  const v = file.values;
  const keys = ["accessKeyId", "secretAccessKey"] as const;
  const plain = ["keyPath", "knownHostsPath", "endpoint", "region", "password"] as const;
  for (const f of [...plain, ...(usesS3Chain(out.url) ? [] : keys)]) {
    if (v[f] !== undefined) out[f] = v[f];
  }
  if (v.forcePathStyle !== undefined) out.forcePathStyle = v.forcePathStyle;
  if (usesS3Chain(out.url) && (v.accessKeyId || v.secretAccessKey)) {
    out.credentialsFile = { path: file.path, accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey };
  }
  return out;
}
