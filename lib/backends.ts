/**
 * Maps a replica/archive URL to its Backend implementation, one file per scheme. The scheme is the
 * only thing decided here; each backend parses the rest of its URL and its options itself.
 */
import type { BackupConfig } from "./config/types.ts";
import { ConfigError } from "./errors.ts";
import type { Backend } from "./backend/backend.ts";
import { FileBackend } from "./backend/file/file_backend.ts";
import { retryBackend } from "./backend/retry.ts";
import { openS3Backend } from "./backend/s3/s3_backend.ts";
import { openGcsBackend } from "./backend/gcs/gcs_backend.ts";
import { openSftpBackend } from "./backend/sftp/sftp_backend.ts";

/** URL schemes a replica or archive destination can use. */
const BACKEND_SCHEMES = ["file", "s3", "gcs", "sftp"] as const;

/** The scheme of `url` without the colon; a plain absolute path counts as `file`. */
export function urlScheme(url: string): string {
  if (url.startsWith("/")) return "file";
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m) {
    throw new ConfigError(`${url}: not a URL (expected file:///dir, s3://bucket/path, gcs://, sftp://)`);
  }
  return m[1].toLowerCase();
}

/**
 * Opens the backend `url` names. `cfg` carries credentials and endpoint options (server.yaml's
 * `backup:` section, secrets resolved) for the schemes that need them.
 */
export function openBackend(url: string, cfg?: BackupConfig): Promise<Backend> {
  let scheme: string;
  try {
    scheme = urlScheme(url);
  } catch (err) {
    return Promise.reject(err);
  }
  switch (scheme) {
    case "file":
      return Promise.resolve(new FileBackend(url));
    case "s3":
      // The S3 backend retries the parts of streamed uploads with the same (default) policy.
      return Promise.resolve(retryBackend(openS3Backend(url, cfg ?? {}, { retry: {} })));
    case "gcs":
      return openGcsBackend(url, cfg ?? {}, { retry: {} }).then((b) => retryBackend(b));
    case "sftp":
      // A dropped SSH connection is a TransientError: the wrapper retries and the backend reconnects.
      return openSftpBackend(url, cfg ?? {}).then((b) => retryBackend(b));
    default:
      return Promise.reject(
        new ConfigError(
          `${redact(url)}: unknown scheme ${scheme}:// (supported: ${BACKEND_SCHEMES.join(", ")})`,
        ),
      );
  }
}

/** `url` without any user:password part, for messages. */
function redact(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, "$1");
}
