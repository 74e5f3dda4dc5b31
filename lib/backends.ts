/**
 * The registry of storage backends: the one place that knows every scheme. Config parsing
 * (lib/config/server_yaml_parse.ts), URL parsing and the CLI ask it; each backend's folder under
 * lib/backend/ parses its own options and opens itself. Every backend is opened behind the retry
 * decorator with the backend's own rule of what is worth retrying.
 */
import { ConfigError } from "./errors.ts";
import type { Backend } from "./backend/backend.ts";
import type { BackendDescriptor } from "./backend/descriptor.ts";
import { retryBackend } from "./backend/retry.ts";
import { fileBackend, type FileConfig } from "./backend/file/mod.ts";
import { s3Backend, type S3Config } from "./backend/s3/mod.ts";
import { gcsBackend, type GcsConfig } from "./backend/gcs/mod.ts";
import { sftpBackend, type SftpBackupConfig } from "./backend/sftp/mod.ts";

export type { FileConfig, GcsConfig, S3Config, SftpBackupConfig };

/** A destination's own settings, tagged with its scheme. */
export type DestinationConfig = S3Config | GcsConfig | SftpBackupConfig | FileConfig;

/** Every backend, in the order messages list them. */
const BACKENDS: readonly BackendDescriptor<DestinationConfig>[] = [
  s3Backend,
  gcsBackend,
  sftpBackend,
  fileBackend,
];

/** URL schemes a replica or archive destination may use. */
export const BACKEND_SCHEMES: readonly string[] = BACKENDS.map((b) => b.scheme);

/** Every `backup:` key some backend reads. */
export const BACKEND_OPTION_KEYS: readonly string[] = [...new Set(BACKENDS.flatMap((b) => b.optionKeys))];

/** The backend of `scheme` (lower case, without `://`), or undefined when there is none. */
export function backendFor(scheme: string): BackendDescriptor<DestinationConfig> | undefined {
  return BACKENDS.find((b) => b.scheme === scheme);
}

/** The scheme of `url` without the colon; a plain absolute path counts as `file`. */
export function urlScheme(url: string): string {
  if (url.startsWith("/")) return "file";
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m) {
    const schemes = BACKEND_SCHEMES.map((s) => `${s}://`).join(", ");
    throw new ConfigError(`${url}: not a URL (expected ${schemes} or an absolute path)`);
  }
  return m[1].toLowerCase();
}

/** `url` without credentials, for messages (whatever its scheme). */
export function redactUrl(url: string): string {
  const backend = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url) ? backendFor(urlScheme(url)) : undefined;
  return backend ? backend.redact(url) : url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, "$1");
}

/**
 * Opens the backend `url` names, behind the retry decorator. `destination` carries credentials and
 * endpoint options (server.yaml's `backup:` section, secrets resolved); settings of another scheme
 * than the URL's are not used, the URL's backend then runs on its defaults (ambient credentials).
 */
export async function openBackend(url: string, destination?: DestinationConfig): Promise<Backend> {
  const scheme = urlScheme(url);
  const backend = backendFor(scheme);
  if (!backend) {
    throw new ConfigError(
      `${redactUrl(url)}: unknown scheme ${scheme}:// (supported: ${BACKEND_SCHEMES.join(", ")})`,
    );
  }
  const cfg = destination?.scheme === scheme ? destination : defaultConfig(backend);
  return retryBackend(await backend.open(url, cfg), { isRetryable: backend.isRetryable });
}

/** The settings `url`'s backend runs on when server.yaml has no `backup:` section for it. */
export function defaultDestination(url: string): DestinationConfig {
  const backend = backendFor(urlScheme(url));
  if (!backend) {
    throw new ConfigError(`${redactUrl(url)}: unknown scheme (supported: ${BACKEND_SCHEMES.join(", ")})`);
  }
  return defaultConfig(backend);
}

/** The settings of a backend when server.yaml has no `backup:` section for it. */
function defaultConfig(backend: BackendDescriptor<DestinationConfig>): DestinationConfig {
  return backend.parseConfig({
    string: () => undefined,
    boolean: () => undefined,
    path: () => undefined,
    secret: () => undefined,
    error: (key, problem) => new ConfigError(`${key}: ${problem}`),
  });
}
