/**
 * Loads server.yaml: reads the file, validates it (lib/config/server_yaml_parse.ts) and resolves
 * `secret:NAME` values from the encrypted store under `<root>/secrets/`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, NotFoundError, toVigoError, VigoError } from "../errors.ts";
import { SecretStore } from "../secrets/secret_store.ts";
import { homeDirOrNone } from "../fsutil/home_dir.ts";
import { MASTER_KEY_FILE } from "../secrets/master_key.ts";
import { lineSuffix } from "./yaml_section.ts";
import { parseServerYaml } from "./server_yaml_parse.ts";
import type { ServerConfig } from "./types.ts";
import {
  applyCredentialSources,
  type CredentialSources,
  fallbackHint,
  fileValueFor,
  isS3KeyField,
  missingMasterKey,
  serverYamlKeys,
} from "./credentials.ts";
import { readConfigText } from "../fsutil/regular_file.ts";

/** Options of {@link loadServerConfig}. */
export interface LoadServerConfigOptions {
  /**
   * `"resolve"` (default) decrypts every `secret:NAME` value; `"skip"` leaves them as the literal
   * `secret:NAME` text, for commands that never use backup credentials (archive create/restore),
   * so a missing secret cannot stop an unrelated backup.
   */
  secrets?: "resolve" | "skip";
  /** `--credentials-file`: fresh-host values for `secret:` fields and SFTP/S3 settings (lib/config/credentials.ts). */
  credentials?: CredentialSources;
}

/**
 * Reads and validates server.yaml. Relative paths inside it resolve against `serverRoot`.
 * Throws {@link ConfigError} when the file is missing, is not valid YAML, has a value of the wrong
 * type, or names a secret that cannot be read (the message names the key and the secret, never
 * the value). A file that exists but cannot be read is an IoError naming it.
 */
export async function loadServerConfig(
  serverYamlPath: string,
  serverRoot: string,
  options: LoadServerConfigOptions = {},
): Promise<ServerConfig> {
  const absYaml = resolve(serverYamlPath);
  const absRoot = resolve(serverRoot);
  let text: string;
  try {
    text = readConfigText(absYaml, "server.yaml");
  } catch (err) {
    const e = toVigoError(err, serverYamlPath);
    if (e instanceof NotFoundError) {
      throw new ConfigError(`${serverYamlPath}: server.yaml not found`, { cause: err });
    }
    throw e; // permission denied, EIO, a directory: the operating system's problem, not the config's
  }
  const { config, secretRefs } = parseServerYaml(text, {
    displayPath: serverYamlPath,
    serverYamlPath: absYaml,
    serverRoot: absRoot,
    homeDir: homeDirOrNone(),
  });
  if (options.secrets === "skip" || !config.backup) return config;
  const sources = options.credentials ?? {};
  const dest = config.backup.destination;
  const set = (field: string, value: string | undefined) => Object.assign(dest, { [field]: value });

  const store = new SecretStore(absRoot);
  let unresolvedS3Key: { why: string; remedy?: string } | undefined;
  for (const ref of secretRefs) {
    const fromFile = fileValueFor(sources, ref.field);
    if (fromFile !== undefined) {
      // The file wins; S3 keys go to the chain's first source (applyCredentialSources), not the fields.
      set(ref.field, isS3KeyField(dest, ref.field) ? undefined : fromFile);
      continue;
    }
    try {
      set(ref.field, await store.get(ref.name));
    } catch (err) {
      const problem = `${serverYamlPath}: ${ref.keyPath}: cannot resolve secret "${ref.name}"${
        lineSuffix(ref.line)
      }`;
      // A store that works but lacks or rejects this secret is a configuration error. Only a store
      // without its master key — a fresh host, the key kept apart — falls back to other sources.
      const keyPath = join(absRoot, "secrets", MASTER_KEY_FILE);
      if (existsSync(keyPath)) {
        const said = err instanceof VigoError ? err.message : String(err);
        // A wrong key put back: what to do, which the line left to the guide.
        const remedy = /different master key/.test(said)
          ? `; put back the key that sealed it, or move ${keyPath} away to use the other credential sources`
          : "";
        throw new ConfigError(`${problem}: ${said}${remedy}`, { cause: err });
      }
      const sealed = store.pathOf(ref.name);
      const missing = missingMasterKey(problem, sealed, existsSync(sealed), keyPath);
      if (isS3KeyField(dest, ref.field)) {
        // The rest of the S3 chain (environment, profile, instance role) may have keys; if it has none,
        // its error says this.
        unresolvedS3Key ??= missing;
        continue;
      }
      // An SFTP password is not needed when the credentials file names a key to log in with.
      if (ref.field === "password" && sources.file?.values.keyPath) {
        set("password", undefined);
        continue;
      }
      const remedies = [missing.remedy, fallbackHint(dest, ref.field)].filter(Boolean);
      throw new ConfigError(`${missing.why}; ${remedies.join(", or ")}`, { cause: err });
    }
  }
  if (dest.scheme === "s3" || dest.scheme === "gcs") {
    const keys = serverYamlKeys(serverYamlPath, dest, unresolvedS3Key);
    if (keys) dest.keysSource = keys;
  }
  if (unresolvedS3Key) {
    // One key of the pair alone would be refused: a later ref may have resolved after an earlier failed.
    set("accessKeyId", undefined);
    set("secretAccessKey", undefined);
  }
  config.backup.destination = applyCredentialSources(config.backup.url, dest, sources);
  config.warnings.push(...store.warnings);
  return config;
}

/**
 * Throws unless the deployment uses SQLite: every backup command calls this first, because a
 * PostgreSQL deployment keeps its data in a server this tool cannot snapshot consistently.
 */
export function requireSqlite(cfg: ServerConfig): void {
  if (cfg.database.driver !== "sqlite") {
    throw new ConfigError(
      `${cfg.serverYamlPath}: database.driver is "${cfg.database.driver}": vigocli backup only handles SQLite; ` +
        "PostgreSQL deployments are backed up with PostgreSQL's own tools (pg_dump, pg_basebackup, WAL archiving)",
    );
  }
}
