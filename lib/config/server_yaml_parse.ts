/**
 * Pure parsing and validation of server.yaml text into a {@link ServerConfig}. No file I/O: the
 * caller reads the file and resolves the `secret:NAME` references this returns
 * (lib/config/server_yaml.ts does both).
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../errors.ts";
import { noHomeReason } from "../fsutil/home_dir.ts";
import { secretNameProblem } from "../secrets/secret_name.ts";
import { BACKEND_OPTION_KEYS, BACKEND_SCHEMES, backendFor, type DestinationConfig } from "../backends.ts";
import type { BackendDescriptor, BackupOptionSource } from "../backend/descriptor.ts";
import type { BackupConfig, ServerConfig } from "./types.ts";
import { listenAddrProblem } from "../net/listen_addr.ts";
import { closest } from "../closest_name.ts";
import { firstDuplicateKey } from "./yaml_duplicate_keys.ts";
import { lineSuffix, YamlSection, type YamlSource } from "./yaml_section.ts";

/** Defaults of the `backup:` section, as in the product spec. */
export const BACKUP_DEFAULTS = {
  retentionMs: 720 * 3_600_000,
  syncIntervalMs: 1_000,
  snapshotIntervalMs: 24 * 3_600_000,
  shutdownTimeoutMs: 10_000,
} as const;

/** Prefix that marks a value to be read from the encrypted secret store. */
export const SECRET_PREFIX = "secret:";

/** A `secret:NAME` value still to be resolved. */
export interface SecretRef {
  /** The field of `backup.destination` the secret's value goes to. */
  field: string;
  /** Dotted key path, e.g. `backup.access_key_id`. */
  keyPath: string;
  /** Secret name, e.g. `vigo/backup/aws_access_key`. */
  name: string;
  line?: number;
}

/** Result of {@link parseServerYaml}: the config with secret fields unresolved, and what to resolve. */
export interface ParsedServerYaml {
  config: ServerConfig;
  secretRefs: SecretRef[];
}

/** Inputs of {@link parseServerYaml}. */
export interface ParseServerYamlOptions {
  /** The file name as the user gave it (message prefix). */
  displayPath: string;
  /** Absolute path of server.yaml. */
  serverYamlPath: string;
  /** Absolute server root; relative paths in the file resolve against it. */
  serverRoot: string;
  /** Home directory for `~/` in key_path and known_hosts_path. */
  homeDir?: string;
}

const TOP_LEVEL = ["database", "paths", "backup"];
const DATABASE_KEYS = ["driver", "path"];
const PATHS_KEYS = ["snapshots"];
const BACKUP_COMMON_KEYS = [
  "url",
  "retention",
  "sync_interval",
  "snapshot_interval",
  "shutdown_timeout",
  "addr",
  "drill",
];
const DRILL_KEYS = ["max_age", "max_rpo"];
const BACKUP_KEYS = [...BACKUP_COMMON_KEYS, ...BACKEND_OPTION_KEYS];

/** Parses and validates server.yaml text. Throws {@link ConfigError} on the first problem. */
export function parseServerYaml(text: string, opts: ParseServerYamlOptions): ParsedServerYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys off: the package's check is quadratic; firstDuplicateKey() is the linear one.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const dup = doc.errors.length === 0 ? firstDuplicateKey(doc) : undefined;
  if (doc.errors.length > 0 || dup) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e ? e.pos[0] : dup?.offset ?? 0);
    const where = ` (line ${pos.line}, column ${pos.col})`;
    const what = e ? e.message.split("\n")[0] : `Map keys must be unique: ${JSON.stringify(dup!.key)}`;
    throw new ConfigError(`${opts.displayPath}: invalid YAML: ${what}${where}`);
  }
  const src: YamlSource = { displayPath: opts.displayPath, doc, lineCounter };
  const contents = doc.contents;
  if (contents !== null && !(isScalar(contents) && contents.value === null) && !isMap(contents)) {
    const line = contents.range ? lineCounter.linePos(contents.range[0]).line : undefined;
    throw new ConfigError(`${opts.displayPath}: expected a mapping at the top level${lineSuffix(line)}`);
  }
  const root = new YamlSection(src, isMap(contents) ? contents : null, "");
  const warnings: string[] = [];
  warnTopLevelTypos(root, warnings, opts.displayPath);

  const db = root.section("database");
  const driverText = db.string("driver") ?? "sqlite";
  if (driverText !== "sqlite" && driverText !== "postgres") {
    throw db.error("driver", `expected "sqlite" or "postgres", got ${JSON.stringify(driverText)}`);
  }
  // A postgres section carries connection keys we do not model; they are the server's business.
  if (driverText === "sqlite") warnUnknown(db, DATABASE_KEYS, warnings, opts.displayPath);
  const dbPath = db.string("path");
  if (dbPath === "") throw db.error("path", "must not be empty");

  const paths = root.section("paths");
  warnUnknown(paths, PATHS_KEYS, warnings, opts.displayPath);
  const snapshots = paths.string("snapshots");
  if (snapshots === "") throw paths.error("snapshots", "must not be empty");

  const secretRefs: SecretRef[] = [];
  let backup: BackupConfig | undefined;
  if (root.has("backup")) {
    backup = parseBackup(root.section("backup"), opts, warnings, secretRefs);
  } else {
    root.section("backup"); // still rejects `backup: 3`
  }

  return {
    config: {
      serverYamlPath: opts.serverYamlPath,
      serverRoot: opts.serverRoot,
      database: {
        driver: driverText,
        path: resolve(opts.serverRoot, dbPath ?? "db/vigo.db"),
      },
      paths: { snapshots: resolve(opts.serverRoot, snapshots ?? "snapshots") },
      backup,
      warnings,
    },
    secretRefs,
  };
}

function parseBackup(
  sec: YamlSection,
  opts: ParseServerYamlOptions,
  warnings: string[],
  secretRefs: SecretRef[],
): BackupConfig {
  warnUnknown(sec, BACKUP_KEYS, warnings, opts.displayPath);
  const rawUrl = sec.string("url");
  if (rawUrl === undefined || rawUrl === "") {
    throw new ConfigError(
      `${opts.displayPath}: backup.url: required when a backup: section is present${
        lineSuffix(sec.lineOf("url"))
      }`,
    );
  }
  const { backend, url } = parseBackupUrl(sec, rawUrl, opts.serverRoot);
  const destination = backend.parseConfig(optionSource(sec, opts, warnings, secretRefs));
  const cfg: BackupConfig = {
    url,
    destination,
    retentionMs: positiveDuration(sec, "retention") ?? BACKUP_DEFAULTS.retentionMs,
    syncIntervalMs: positiveDuration(sec, "sync_interval") ?? BACKUP_DEFAULTS.syncIntervalMs,
    snapshotIntervalMs: positiveDuration(sec, "snapshot_interval") ?? BACKUP_DEFAULTS.snapshotIntervalMs,
    shutdownTimeoutMs: positiveDuration(sec, "shutdown_timeout") ?? BACKUP_DEFAULTS.shutdownTimeoutMs,
  };
  const addr = listenAddr(sec);
  if (addr) cfg.addr = addr;
  const drill = sec.section("drill");
  warnUnknown(drill, DRILL_KEYS, warnings, opts.displayPath);
  const maxAgeMs = positiveDuration(drill, "max_age");
  const maxRpoMs = positiveDuration(drill, "max_rpo");
  if (maxAgeMs !== undefined || maxRpoMs !== undefined) cfg.drill = { maxAgeMs, maxRpoMs };
  warnInapplicable(sec, backend, warnings, opts.displayPath);
  return cfg;
}

/** The `backup:` section as the destination's backend reads it (lib/backend/descriptor.ts). */
function optionSource(
  sec: YamlSection,
  opts: ParseServerYamlOptions,
  warnings: string[],
  secretRefs: SecretRef[],
): BackupOptionSource {
  return {
    string: (key) => nonEmpty(sec, key),
    boolean: (key) => sec.boolean(key),
    path: (key) => localPath(sec, key, opts),
    error: (key, problem) => sec.error(key, problem),
    secret(key, field, how) {
      const value = sec.string(key);
      if (value === undefined) return undefined;
      if (value.startsWith(SECRET_PREFIX)) {
        const name = value.slice(SECRET_PREFIX.length);
        const problem = secretNameProblem(name);
        if (problem) throw sec.error(key, `invalid secret name ${JSON.stringify(name)}: ${problem}`);
        secretRefs.push({ field, keyPath: sec.keyPath(key), name, line: sec.lineOf(key) });
      } else if (!how?.plainTextOk) {
        warnings.push(
          `${opts.displayPath}: ${sec.keyPath(key)}: stored in plain text${
            lineSuffix(sec.lineOf(key))
          }; prefer "secret:NAME" (vigocli secret set NAME)`,
        );
      }
      return value;
    },
  };
}

/**
 * Checks the URL as its backend will when it opens it, so that a bad one is refused here with the
 * file and line; turns a relative `file://dir` into an absolute `file:///root/dir` URL.
 */
function parseBackupUrl(
  sec: YamlSection,
  raw: string,
  serverRoot: string,
): { backend: BackendDescriptor<DestinationConfig>; url: string } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(raw);
  if (!m) {
    throw sec.error(
      "url",
      `expected a URL such as s3://bucket/path or file:///dir, got ${JSON.stringify(raw)}`,
    );
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  const backend = backendFor(scheme);
  if (!backend) {
    throw sec.error("url", `unsupported scheme "${scheme}://" (use ${BACKEND_SCHEMES.join(", ")})`);
  }
  if (scheme === "file") {
    const path = rest.startsWith("localhost/") ? rest.slice("localhost".length) : rest;
    if (path === "") throw sec.error("url", "file:// URL has no path");
    // The text after file:// is a literal path in which only "%" escapes are decoded (fileUrlToRoot),
    // so file:///abs/a#b is the directory "a#b". Relative file URLs (file://replica) are a convenience
    // for examples and tests: they resolve against the server root like every other relative path in
    // server.yaml (whose own "%" and "#" pathToFileURL encodes).
    const abs = path.startsWith("/")
      ? `file://${path}`
      : `${pathToFileURL(serverRoot).href.replace(/\/$/, "")}/${path}`;
    return { backend, url: checkedUrl(sec, backend, abs) };
  }
  const host = rest.split("/")[0].replace(/^[^@]*@/, "");
  if (host === "") throw sec.error("url", `${scheme}:// URL has no ${scheme === "sftp" ? "host" : "bucket"}`);
  return { backend, url: checkedUrl(sec, backend, raw) };
}

/** The backend's own check of `url`; what it refuses is reported at `backup.url`'s line. */
function checkedUrl(sec: YamlSection, backend: BackendDescriptor<DestinationConfig>, url: string): string {
  try {
    return backend.checkUrl(url);
  } catch (err) {
    if (err instanceof ConfigError) throw sec.error("url", err.message);
    throw err;
  }
}

function positiveDuration(sec: YamlSection, key: string): number | undefined {
  const ms = sec.duration(key);
  if (ms !== undefined && !(ms > 0)) throw sec.error(key, "must be greater than zero");
  return ms;
}

function nonEmpty(sec: YamlSection, key: string): string | undefined {
  const v = sec.string(key);
  if (v === "") throw sec.error(key, "must not be empty");
  return v;
}

function localPath(sec: YamlSection, key: string, opts: ParseServerYamlOptions): string | undefined {
  const v = nonEmpty(sec, key);
  if (v === undefined) return undefined;
  if (v === "~" || v.startsWith("~/")) {
    // Resolving under the server root instead would name a file the operator never meant.
    if (!opts.homeDir) throw sec.error(key, `${v}: ${noHomeReason()}`);
    return resolve(opts.homeDir, v.slice(2));
  }
  return resolve(opts.serverRoot, v);
}

function warnUnknown(sec: YamlSection, known: string[], warnings: string[], displayPath: string): void {
  for (const { key, line } of sec.keys()) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    warnings.push(
      `${displayPath}: ${sec.keyPath(key)}: unknown key, ignored${lineSuffix(line)}${
        hint ? ` (did you mean "${hint}"?)` : ""
      }`,
    );
  }
}

/**
 * Top-level keys other than ours belong to the Vigo server (listeners, auth, …) and are not ours
 * to judge; only near-misses of our sections ("bakup") are worth a warning.
 */
function warnTopLevelTypos(root: YamlSection, warnings: string[], displayPath: string): void {
  for (const { key, line } of root.keys()) {
    if (TOP_LEVEL.includes(key)) continue;
    const hint = closest(key, TOP_LEVEL);
    if (hint) {
      warnings.push(
        `${displayPath}: ${key}: unknown key, ignored${lineSuffix(line)} (did you mean "${hint}"?)`,
      );
    }
  }
}

/** Warns about destination keys that the URL's backend does not read. */
function warnInapplicable(
  sec: YamlSection,
  backend: BackendDescriptor<DestinationConfig>,
  warnings: string[],
  displayPath: string,
): void {
  for (const { key, line } of sec.keys()) {
    if (BACKEND_OPTION_KEYS.includes(key) && !backend.optionKeys.includes(key)) {
      warnings.push(
        `${displayPath}: ${sec.keyPath(key)}: not used by ${backend.scheme}:// destinations${
          lineSuffix(line)
        }`,
      );
    }
  }
}

/** `backup.addr`: where `backup replicate` serves /metrics and /healthz (HOST:PORT). */
function listenAddr(sec: YamlSection): string | undefined {
  const v = sec.string("addr");
  if (v === undefined || v === "") return undefined;
  const problem = listenAddrProblem(v);
  if (problem) throw sec.error("addr", problem);
  return v;
}
