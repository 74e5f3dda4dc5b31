/**
 * Loads server.yaml: reads the file, validates it (lib/config/server_yaml_parse.ts) and resolves
 * `secret:NAME` values from the encrypted store under `<root>/secrets/`.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { ConfigError, NotFoundError, toVigoError, VigoError } from "../errors.ts";
import { SecretStore } from "../secrets/secret_store.ts";
import { lineSuffix } from "./yaml_section.ts";
import { parseServerYaml } from "./server_yaml_parse.ts";
import type { ServerConfig } from "./types.ts";

/** Options of {@link loadServerConfig}. */
export interface LoadServerConfigOptions {
  /**
   * `"resolve"` (default) decrypts every `secret:NAME` value; `"skip"` leaves them as the literal
   * `secret:NAME` text, for commands that never use backup credentials (archive create/restore),
   * so a missing secret cannot stop an unrelated backup.
   */
  secrets?: "resolve" | "skip";
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
    text = await readFile(absYaml, "utf8");
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
    homeDir: homedir(),
  });
  if (options.secrets === "skip" || secretRefs.length === 0 || !config.backup) return config;

  const store = new SecretStore(absRoot);
  for (const ref of secretRefs) {
    try {
      Object.assign(config.backup.destination, { [ref.field]: await store.get(ref.name) });
    } catch (err) {
      const why = err instanceof VigoError ? err.message : String(err);
      throw new ConfigError(
        `${serverYamlPath}: ${ref.keyPath}: cannot resolve secret "${ref.name}"${
          lineSuffix(ref.line)
        }: ${why}`,
        { cause: err },
      );
    }
  }
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
