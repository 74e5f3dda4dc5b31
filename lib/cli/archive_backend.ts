/**
 * Where the remote-archive commands (create --upload, upload, list --remote, download, prune --remote,
 * restore URL) find their backend: `--url` when given, else server.yaml's `backup.url`. Credentials
 * (S3/GCS keys, SFTP key_path/password/known_hosts_path) always come from server.yaml's `backup:`
 * section when there is one; on a fresh host without server.yaml, a `--url` works with the
 * defaults (~/.ssh keys and known_hosts, ambient cloud credentials).
 */
import { existsSync } from "node:fs";
import { warn } from "./output.ts";
import { Option } from "@commander-js/extra-typings";
import type { Backend } from "../backend/backend.ts";
import type { BackupConfig, ServerConfig } from "../config/types.ts";
import type { CredentialSources } from "../config/credentials.ts";
import { ConfigError } from "../errors.ts";

/** `--url URL`: the backend root holding `archives/`. */
export function archiveUrlOption() {
  return new Option(
    "--url <url>",
    "backend root holding archives/ (file:///dir, s3://bucket/path, gcs://, sftp://host/path); " +
      "default: server.yaml backup.url",
  );
}

/** True when `text` names a backend URL (`scheme://…`) rather than a local path. */
export function isBackendUrl(text: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text);
}

/**
 * The server.yaml settings the remote commands read, with `secret:` values resolved. A PostgreSQL
 * deployment is refused here (exit 3), as by every command that reads its server.yaml.
 */
export async function loadBackupSettings(
  serverYaml: string,
  serverRoot: string,
  required: boolean,
  credentials?: CredentialSources,
): Promise<ServerConfig | undefined> {
  if (!required && !existsSync(serverYaml)) return undefined;
  // Imported on use: the command files import this module, and building the command tree stays cheap.
  const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
  const cfg = await loadServerConfig(serverYaml, serverRoot, { credentials });
  requireSqlite(cfg);
  for (const w of cfg.warnings) warn(w);
  return cfg;
}

/**
 * Opens the archive backend: `url` when given (credentials from `backup` when present), else
 * `backup.url`. `where` names the server.yaml in the error when neither exists.
 */
export async function openArchiveBackend(
  url: string | undefined,
  backup: BackupConfig | undefined,
  where: string,
  credentials?: CredentialSources,
): Promise<Backend> {
  const target = url ?? backup?.url;
  if (!target) {
    throw new ConfigError(`${where}: no backup.url configured (give the backend with --url URL)`);
  }
  const { defaultDestination, openBackend, urlScheme } = await import("../backends.ts");
  const { applyCredentialSources, keysWithoutServerYaml } = await import("../config/credentials.ts");
  let dest = backup?.destination;
  if (!dest || dest.scheme !== urlScheme(target)) {
    dest = defaultDestination(target);
    // Without server.yaml's settings (a fresh host) the keys can only come from the chain or a file.
    if (dest.scheme === "s3" || dest.scheme === "gcs") {
      dest.keysSource = keysWithoutServerYaml(
        !existsSync(where)
          ? `${where} does not exist`
          : backup
          ? `${where}'s backup.url is not a ${dest.scheme}:// URL`
          : `${where} has no backup: section`,
      );
    }
  }
  return await openBackend(target, applyCredentialSources(target, dest, credentials ?? {}));
}
