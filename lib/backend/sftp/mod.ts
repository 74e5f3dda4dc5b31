/** The sftp:// backend as the registry (lib/backends.ts) lists it. */
import type { BackendDescriptor } from "../descriptor.ts";
import { isRetryable } from "../retry.ts";
import { parseSftpUrl, redactPassword, type SftpOptions } from "./config.ts";

/** server.yaml's `backup:` settings for an sftp:// destination (password resolved by the loader). */
export interface SftpBackupConfig extends SftpOptions {
  readonly scheme: "sftp";
}

/** `sftp://[user@]host[:port]/path`. */
export const sftpBackend: BackendDescriptor<SftpBackupConfig> = {
  scheme: "sftp",
  optionKeys: ["key_path", "password", "known_hosts_path"],
  parseConfig: (src) => ({
    scheme: "sftp",
    keyPath: src.path("key_path"),
    password: src.secret("password", "password"),
    knownHostsPath: src.path("known_hosts_path"),
  }),
  redact: redactPassword,
  checkUrl: (url) => (parseSftpUrl(url), url),
  // Loaded on open: reading server.yaml must not load ssh2. A download already handed out is resumed
  // inside with the same policy (the decorator only retries opening it).
  open: async (url, cfg) =>
    await (await import("./sftp_backend.ts")).openSftpBackend(url, { ...cfg, retry: {} }),
  // A dropped SSH connection is a TransientError: the decorator retries and the backend reconnects.
  isRetryable,
};
