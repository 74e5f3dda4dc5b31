/**
 * `sftp://[user@]host[:port]/path` and the backup options that go with it (key_path, password,
 * known_hosts_path), parsed and defaulted — nothing else. The path is absolute on the server, as
 * Litestream's sftp replica reads it, so both tools address the same directory with the same URL.
 */
import { join } from "node:path";
import type { BackupConfig } from "../../config/types.ts";
import { ConfigError } from "../../errors.ts";

/** Where and as whom to connect, and how to check and authenticate. */
export interface SftpConfig {
  host: string;
  port: number;
  user: string;
  /** Root directory on the server; keys are paths below it. `.` = the login directory. */
  root: string;
  /** The URL without any password, for messages. */
  displayUrl: string;
  /** An explicit key file (key_path); when set, the default keys are not tried. */
  keyPath?: string;
  /** Default key files to try when no key_path is given, in order. */
  defaultKeyPaths: string[];
  password?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK), when set. */
  agentSocket?: string;
  knownHostsPath: string;
}

/** What the parser needs from the environment (passed in so parsing stays pure and testable). */
export interface SftpEnvironment {
  homeDir: string;
  /** Login name when the URL names no user. */
  userName: string;
  sshAuthSock?: string;
}

/** Parses `url` and merges `opts` (server.yaml's backup: section, secrets resolved). */
export function parseSftpConfig(
  url: string,
  opts: Partial<BackupConfig>,
  env: SftpEnvironment,
): SftpConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(
      `${redactPassword(url)}: not a valid URL (expected sftp://[user@]host[:port]/path)`,
    );
  }
  if (u.protocol !== "sftp:") throw new ConfigError(`${redactPassword(url)}: not an sftp:// URL`);
  if (u.hostname === "") throw new ConfigError(`${redactPassword(url)}: sftp:// URL has no host`);
  if (u.search || u.hash) {
    throw new ConfigError(`${redactPassword(url)}: sftp:// URLs take no ?query or #fragment`);
  }
  const port = u.port === "" ? 22 : Number(u.port);
  const user = u.username ? decodeURIComponent(u.username) : env.userName;
  const urlPassword = u.password ? decodeURIComponent(u.password) : undefined;
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  let root = decodeURIComponent(u.pathname).replace(/\/+$/, "");
  if (root === "") root = u.pathname === "/" ? "/" : ".";
  const sshDir = join(env.homeDir, ".ssh");
  const tilde = (p: string) => (p.startsWith("~/") ? join(env.homeDir, p.slice(2)) : p);
  return {
    host,
    port,
    user,
    root,
    displayUrl: `sftp://${u.username ? `${u.username}@` : ""}${u.host}${u.pathname}`,
    keyPath: opts.keyPath ? tilde(opts.keyPath) : undefined,
    defaultKeyPaths: ["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(sshDir, n)),
    password: opts.password ?? urlPassword,
    agentSocket: env.sshAuthSock || undefined,
    knownHostsPath: opts.knownHostsPath ? tilde(opts.knownHostsPath) : join(sshDir, "known_hosts"),
  };
}

/** `url` with any `:password` in its user part removed. */
export function redactPassword(url: string): string {
  return url.replace(/^(sftp:\/\/[^/@:]*):[^/@]*@/i, "$1@");
}
