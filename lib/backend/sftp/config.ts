/**
 * `sftp://[user@]host[:port]/path` and the backup options that go with it (key_path, password,
 * known_hosts_path), parsed and defaulted — nothing else. The path is absolute on the server, as
 * Litestream's sftp replica reads it, so both tools address the same directory with the same URL.
 */
import { join } from "node:path";
import SSHConfig from "ssh-config";
import { ConfigError } from "../../errors.ts";
import { noHomeReason, noUserReason } from "../../fsutil/home_dir.ts";
import { decodeUrlPart } from "../url_decode.ts";
import type { RetryPolicy } from "../retry.ts";

/** The `backup:` fields that concern SFTP (server.yaml's key_path, password, known_hosts_path). */
export interface SftpOptions {
  /** Private key file; when set, the default keys are not tried. */
  keyPath?: string;
  /** Login password (resolved from `secret:`). */
  password?: string;
  /** known_hosts file; default ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** How long requests may go unanswered before the session counts as lost; default 60 s. */
  requestTimeoutMs?: number;
  /** Policy of resuming a download whose session was lost mid-body; none resumed without one. */
  retry?: RetryPolicy;
}

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
  /** Key files to try when no key_path is given, in order: ~/.ssh/config's IdentityFile, then the defaults. */
  defaultKeyPaths: string[];
  password?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK), when set. */
  agentSocket?: string;
  knownHostsPath: string;
}

/** What the parser needs from the environment (passed in so parsing stays pure and testable). */
export interface SftpEnvironment {
  /** Undefined without one (no HOME, no passwd entry): there is then no ~/.ssh to read. */
  homeDir: string | undefined;
  /** Login name when the URL names no user; undefined when USER is unset and there is no passwd entry. */
  userName: string | undefined;
  sshAuthSock?: string;
  /** The text of ~/.ssh/config, when there is one: HostName, Port, User and IdentityFile apply. */
  sshConfig?: string;
}

/** What an sftp:// URL itself says, percent-decoded: no ~/.ssh/config, no defaults. */
export interface SftpUrl {
  url: URL;
  /** The host as written, an IPv6 literal without its brackets (what ~/.ssh/config's Host matches). */
  alias: string;
  port?: number;
  user?: string;
  password?: string;
  /** Root directory on the server; `.` = the login directory. */
  root: string;
}

/** Parses an sftp:// URL; a ConfigError naming it (without its password) when it is no usable one. */
export function parseSftpUrl(url: string): SftpUrl {
  const shown = redactPassword(url);
  // Looked for in the text, before parsing: a bare "?" or "#" (sftp://host/a#) leaves the parsed
  // search and hash empty but still cuts the path, and one in a password makes the URL unparsable.
  const cut = /[?#]/.exec(url)?.[0];
  if (cut) {
    throw new ConfigError(
      `${shown}: sftp:// URLs take no ?query or #fragment (write a "${cut}" in a name or password as ${
        cut === "#" ? "%23" : "%3F"
      })`,
    );
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${shown}: not a valid URL (expected sftp://[user@]host[:port]/path)`);
  }
  if (u.protocol !== "sftp:") throw new ConfigError(`${shown}: not an sftp:// URL`);
  if (u.hostname === "") throw new ConfigError(`${shown}: sftp:// URL has no host`);
  let root = decodeUrlPart(u.pathname, shown).replace(/\/+$/, "");
  if (root === "") root = u.pathname === "/" ? "/" : ".";
  return {
    url: u,
    alias: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port !== "" ? Number(u.port) : undefined,
    user: u.username ? decodeUrlPart(u.username, shown) : undefined,
    password: u.password ? decodeUrlPart(u.password, shown) : undefined,
    root,
  };
}

/** Parses `url` and merges `opts` (server.yaml's backup: section, secrets resolved). */
export function parseSftpConfig(
  url: string,
  opts: SftpOptions,
  env: SftpEnvironment,
): SftpConfig {
  const parsed = parseSftpUrl(url);
  const u = parsed.url;
  // What the URL says wins over ~/.ssh/config, which wins over the defaults, as with ssh(1).
  const ssh = env.sshConfig ? sshHostConfig(env.sshConfig, parsed.alias) : {};
  const home = env.homeDir;
  const sshDir = home === undefined ? undefined : join(home, ".ssh");
  const display = `sftp://${u.username ? `${u.username}@` : ""}${u.host}${u.pathname}`;
  const tilde = (p: string) => {
    if (!p.startsWith("~/")) return p;
    if (home === undefined) throw new ConfigError(`${display}: ${p}: ${noHomeReason()}`);
    return join(home, p.slice(2));
  };
  const user = parsed.user ?? ssh.user ?? env.userName;
  if (user === undefined) {
    throw new ConfigError(
      `${display}: ${noUserReason()}; name one in the URL: sftp://USER@${u.host}${u.pathname}`,
    );
  }
  // Connecting without a known_hosts file to check the host key against is refused anyway; say why now.
  if (!opts.knownHostsPath && sshDir === undefined) {
    throw new ConfigError(`${display}: ~/.ssh/known_hosts: ${noHomeReason()}; set known_hosts_path`);
  }
  return {
    host: ssh.hostName ?? parsed.alias,
    port: parsed.port ?? ssh.port ?? 22,
    user,
    root: parsed.root,
    displayUrl: display,
    keyPath: opts.keyPath ? tilde(opts.keyPath) : undefined,
    defaultKeyPaths: [
      ...(ssh.identityFiles ?? []).map(tilde),
      ...(sshDir === undefined ? [] : ["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(sshDir, n))),
    ],
    password: opts.password ?? parsed.password,
    agentSocket: env.sshAuthSock || undefined,
    knownHostsPath: opts.knownHostsPath ? tilde(opts.knownHostsPath) : join(sshDir!, "known_hosts"),
  };
}

/** The ~/.ssh/config settings that apply to `alias` (first value wins, `Host` patterns as ssh matches them). */
export function sshHostConfig(
  text: string,
  alias: string,
): { hostName?: string; port?: number; user?: string; identityFiles?: string[] } {
  let computed: Record<string, string | string[]>;
  try {
    computed = SSHConfig.parse(text).compute(alias) as Record<string, string | string[]>;
  } catch (err) {
    throw new ConfigError(`~/.ssh/config: cannot parse (${(err as Error).message})`);
  }
  const one = (k: string) => {
    const v = computed[k];
    return typeof v === "string" ? v : Array.isArray(v) ? v[0] : undefined;
  };
  const port = one("Port");
  if (port !== undefined && !/^\d{1,5}$/.test(port)) {
    throw new ConfigError(`~/.ssh/config: Host ${alias}: Port ${port} is not a port number`);
  }
  const ids = computed.IdentityFile;
  return {
    hostName: one("HostName")?.replace(/%h/g, alias),
    port: port === undefined ? undefined : Number(port),
    user: one("User"),
    identityFiles: ids === undefined ? undefined : Array.isArray(ids) ? ids : [ids],
  };
}

/** `url` with any `:password` in its user part removed. */
export function redactPassword(url: string): string {
  return url.replace(/^(sftp:\/\/[^/@:]*):[^/@]*@/i, "$1@");
}
