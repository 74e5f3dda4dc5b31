/**
 * Credentials for a fresh host. server.yaml's `secret:NAME` values live in the encrypted store under
 * `<root>/secrets/`, which after a disaster is itself inside the backup. Until it is back, S3 keys come
 * from the S3 credential chain (lib/backend/s3/credentials/: LITESTREAM_*, AWS_*, AWS_PROFILE, …), whose
 * first source is a `--credentials-file` (format: docs/guide/disaster-recovery.md); the file also
 * supplies SFTP keys and passwords, GCS HMAC keys and endpoint settings. Parsing and merging are pure;
 * reading the file is the only I/O.
 */
import { stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError, toVigoError } from "../errors.ts";
import { backendFor, type DestinationConfig, urlScheme } from "../backends.ts";
import type { KeysSource } from "../backend/s3_api/bucket_url.ts";
import { putMasterKeyBack } from "../secrets/master_key_remedy.ts";
import { readConfigText } from "../fsutil/regular_file.ts";
import { homeDirOrNone, noHomeReason } from "../fsutil/home_dir.ts";

/** The `backup:` fields a credentials file may set, by destination field name. */
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

const PATH_FIELDS: readonly (keyof Credentials)[] = ["keyPath", "knownHostsPath"];

/** The server.yaml key of a field (`secretAccessKey` → `secret_access_key`). */
function fileKeyOf(field: string): string {
  return Object.entries(FILE_KEYS).find(([, f]) => f === field)?.[0] ?? field;
}

/**
 * A value without its quotes and its inline comment. As in the AWS SDKs' shared config files, `#` or `;`
 * starts a comment only after whitespace: secret keys and passwords may contain either character, and
 * one written `abc#def` must reach the backend whole, while `region = # later` is empty rather than a
 * region named "# later". A quoted value ends at its closing quote.
 */
function valueOf(text: string): string {
  const quoted = /^\s*(["'])(.*?)\1(?:\s+[#;].*)?\s*$/.exec(text);
  if (quoted) return quoted[2];
  const comment = /\s[#;]/.exec(text);
  return (comment ? text.slice(0, comment.index) : text).trim();
}

/**
 * Parses a credentials file: one `key: value` or `key = value` per line (YAML-like or INI-like), values
 * optionally quoted; `#` and `;` start comment lines, and inline comments after whitespace
 * (`region = eu-central-1  # frankfurt`); `[section]` lines are ignored. Keys are those of
 * server.yaml's backup: section. `key_path` and `known_hosts_path` may start with `~/` (`home`; an error
 * without one) or be relative to the file's directory. Unknown keys and malformed lines are a
 * ConfigError naming the line.
 */
export function parseCredentialsFile(
  text: string,
  path: string,
  home: string | undefined = homeDirOrNone(),
): Credentials {
  const out: Credentials = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";") || /^\[.*\]\s*(?:[#;].*)?$/.test(line)) {
      continue;
    }
    const m = /^([A-Za-z_]+)\s*[:=](.*)$/.exec(line);
    if (!m) throw new ConfigError(`${path}: line ${i + 1}: expected "key: value" or "key = value"`);
    const field = FILE_KEYS[m[1]];
    if (!field) {
      throw new ConfigError(
        `${path}: line ${i + 1}: unknown key "${m[1]}" (known: ${Object.keys(FILE_KEYS).join(", ")})`,
      );
    }
    const value = valueOf(m[2]);
    if (value === "") throw new ConfigError(`${path}: line ${i + 1}: ${m[1]}: empty value`);
    if (field === "forcePathStyle") {
      if (value !== "true" && value !== "false") {
        throw new ConfigError(`${path}: line ${i + 1}: force_path_style: expected true or false`);
      }
      out.forcePathStyle = value === "true";
    } else if (PATH_FIELDS.includes(field)) {
      if (value.startsWith("~/") && !home) {
        throw new ConfigError(`${path}: line ${i + 1}: ${m[1]}: ${value}: ${noHomeReason()}`);
      }
      out[field] = home && value.startsWith("~/")
        ? resolve(home, value.slice(2))
        : isAbsolute(value)
        ? value
        : resolve(dirname(path), value);
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
    text = readConfigText(path, "credentials file");
    mode = (await stat(path)).mode;
  } catch (err) {
    throw toVigoError(err, path);
  }
  const warnings = (mode & 0o077) !== 0 ? [`${path}: readable by group or others; run chmod 600`] : [];
  return { source: { path: resolve(path), values: parseCredentialsFile(text, path) }, warnings };
}

/** True for S3 key fields, which the S3 credential chain looks up when absent. */
export function isS3KeyField(dest: DestinationConfig, field: string): boolean {
  return dest.scheme === "s3" && (field === "accessKeyId" || field === "secretAccessKey");
}

/** The credentials file's value for a destination field, if it has one. */
export function fileValueFor(sources: CredentialSources, field: string): string | undefined {
  const v = sources.file?.values[field as keyof Credentials];
  return typeof v === "string" ? v : undefined;
}

/** The remedy for missing keys that every command reading a backend has. */
const CREDENTIALS_FILE_REMEDY = "give --credentials-file FILE with access_key_id and secret_access_key";

/**
 * What the "no credentials" error says about the keys of server.yaml at `path` (pure): the secret
 * that could not be read (`failure`), or that it has none; undefined when it has them (the chain names
 * them as server.yaml's).
 */
export function serverYamlKeys(
  path: string,
  dest: { accessKeyId?: string },
  failure?: { why: string; remedy?: string },
): KeysSource | undefined {
  if (failure) return { ...failure, lastly: CREDENTIALS_FILE_REMEDY };
  if (dest.accessKeyId) return undefined;
  return {
    why: `${path} has no backup.access_key_id/secret_access_key`,
    remedy: `set them in ${path}`,
    lastly: CREDENTIALS_FILE_REMEDY,
  };
}

/** The same for a destination opened without server.yaml's settings; `why` says why (it does not exist, …). */
export function keysWithoutServerYaml(why: string): KeysSource {
  return { why, lastly: CREDENTIALS_FILE_REMEDY };
}

/**
 * The error for a `secret:` value that cannot be read because the store has no master key (a fresh host,
 * the key kept apart). It never suggests `secret set`: that would make a NEW key, and the restored
 * secrets open only with the old one.
 */
export function missingMasterKey(
  problem: string,
  sealedPath: string,
  sealedExists: boolean,
  keyPath: string,
): { why: string; remedy?: string } {
  if (!sealedExists) return { why: `${problem}: neither ${sealedPath} nor ${keyPath} exists` };
  return {
    why: `${problem}: ${keyPath} is missing`,
    remedy: putMasterKeyBack(keyPath),
  };
}

/** What would supply `field` on a fresh host, for the error message. */
export function fallbackHint(dest: DestinationConfig, field: string): string {
  if (isS3KeyField(dest, field)) {
    return "set LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY " +
      "(or AWS_PROFILE), or give --credentials-file FILE with access_key_id and secret_access_key";
  }
  return `give --credentials-file FILE with ${fileKeyOf(field)}`;
}

/**
 * The destination for `url` as a fresh host sees it (pure): server.yaml's settings when they are for
 * this scheme (else `defaults`), with every option the credentials file sets and the backend reads
 * overriding them — except S3 keys, which become the first source of the S3 credential chain.
 */
export function applyCredentialSources(
  url: string,
  dest: DestinationConfig,
  sources: CredentialSources,
): DestinationConfig {
  const file = sources.file;
  if (!file) return dest;
  const backend = backendFor(urlScheme(url));
  const out: Record<string, unknown> = { ...dest };
  for (const [key, field] of Object.entries(FILE_KEYS)) {
    const value = file.values[field];
    if (value === undefined || !backend?.optionKeys.includes(key) || isS3KeyField(dest, field)) continue;
    out[field] = value;
  }
  if (dest.scheme === "s3" && (file.values.accessKeyId || file.values.secretAccessKey)) {
    out.credentialsFile = {
      path: file.path,
      accessKeyId: file.values.accessKeyId,
      secretAccessKey: file.values.secretAccessKey,
    };
  }
  return out as unknown as DestinationConfig;
}
