/**
 * One SSH connection with one SFTP channel: credentials loaded, the host key checked against
 * known_hosts BEFORE authenticating (so no credential is offered to an impostor), and failures turned
 * into typed errors — a refused host key or credential is final (BackendError), a refused, reset or
 * timed-out connection is transient (TransientError, so the retry wrapper reconnects).
 */
import { getCiphers } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Buffer } from "node:buffer";
import { BackendError, ConfigError, toVigoError } from "../../errors.ts";
import { runtimeName } from "../../runtime.ts";
import { TransientError } from "../retry.ts";
import type { SftpConfig } from "./config.ts";
import {
  checkHostKey,
  hostKeyAlgorithms,
  type KnownHostEntry,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
} from "./known_hosts.ts";
import { call, guardSftp, newClient, type RawSftp } from "./ssh2_api.ts";
import { connectionCause } from "../../net/connect_error.ts";
import { reuseGcmBuffers } from "./outbound_gcm.ts";

/** Authentication material, read once when the backend is opened. */
export interface SftpCredentials {
  privateKey?: Buffer;
  /** Which file the key came from (for messages). */
  keySource?: string;
  password?: string;
  agent?: string;
}

/** A live SFTP session. `closed` turns true when the connection drops. */
export interface SftpSession {
  sftp: RawSftp;
  readonly closed: boolean;
  close(): void;
}

/**
 * Ciphers in preference order, with the OpenSSL name ssh2 needs from node:crypto. chacha20-poly1305
 * measured fastest under Deno (its AES-GCM shim is slower); Bun has no chacha20 and gets AES-GCM.
 * Offering one the runtime lacks makes ssh2 refuse to connect, so the list is filtered; under Bun
 * chacha20-poly1305 is never offered, its poly1305 being left out there (poly1305_stand_in.ts).
 */
const CIPHERS: [ssh: string, openssl: string][] = [
  ["chacha20-poly1305@openssh.com", "chacha20"],
  ["aes128-gcm@openssh.com", "aes-128-gcm"],
  ["aes256-gcm@openssh.com", "aes-256-gcm"],
  ["aes128-ctr", "aes-128-ctr"],
  ["aes256-ctr", "aes-256-ctr"],
];

/** The ciphers to offer, given node:crypto's cipher names and the runtime. */
export function offeredCiphers(have: ReadonlySet<string>, runtime: string): string[] {
  return CIPHERS.filter(([ssh, openssl]) =>
    have.has(openssl) && !(runtime === "bun" && ssh.startsWith("chacha20-poly1305"))
  ).map(([ssh]) => ssh);
}

/**
 * The error line of a handshake that found no algorithm both sides accept (ssh2's "Handshake failed: no
 * matching …"): the same on every try, so not retried. A cipher mismatch names what was offered, and under
 * Bun that chacha20-poly1305 is not among them (a server offering only that must be told why).
 */
export function handshakeMismatch(url: string, problem: string, offered: string[], runtime: string): string {
  const what = problem.replace(/^Handshake failed: /, "");
  if (!/cipher/.test(what)) return `${url}: SSH handshake failed: ${what}`;
  const without = runtime === "bun"
    ? "; chacha20-poly1305 is not available under Bun (these executables)"
    : "";
  return `${url}: SSH handshake failed: ${what}: the server accepts none of ${offered.join(", ")}${without}`;
}

function usableCiphers(): string[] {
  return offeredCiphers(new Set(getCiphers()), runtimeName());
}

/** Reads the key file (key_path, else the first default key that exists) and checks a method exists. */
export async function loadCredentials(cfg: SftpConfig): Promise<SftpCredentials> {
  const creds: SftpCredentials = { password: cfg.password, agent: cfg.agentSocket };
  if (cfg.keyPath) {
    try {
      creds.privateKey = await readFile(cfg.keyPath);
      creds.keySource = cfg.keyPath;
    } catch (err) {
      throw new ConfigError(`${cfg.displayUrl}: key_path ${toVigoError(err, cfg.keyPath).message}`, {
        cause: err,
      });
    }
  } else {
    for (const p of cfg.defaultKeyPaths) {
      const key = await readFile(p).catch(() => undefined);
      if (key) {
        creds.privateKey = key;
        creds.keySource = p;
        break;
      }
    }
  }
  if (!creds.privateKey && creds.password === undefined && !creds.agent) {
    throw new ConfigError(
      // --credentials-file named too: on a fresh host with no server.yaml it is the way (the DR guide's).
      `${cfg.displayUrl}: no SSH credentials: set backup.key_path or backup.password (or, where the ` +
        `command takes it, give --credentials-file FILE with key_path or password), start ssh-agent ` +
        `(SSH_AUTH_SOCK), or create ${cfg.defaultKeyPaths.join(" / ")}`,
    );
  }
  return creds;
}

/** The text of ~/.ssh/config, or undefined when there is none. */
export async function readSshConfig(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw toVigoError(err, path);
  }
}

/** Reads known_hosts; a missing file is an empty one (every host is then refused as unknown). */
export async function loadKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw toVigoError(err, path);
  }
}

function hostKeyRefusal(cfg: SftpConfig, entries: KnownHostEntry[], key: Buffer): string | undefined {
  const name = knownHostsName(cfg.host, cfg.port);
  const verdict = checkHostKey(entries, name, key);
  const fp = sha256Fingerprint(key);
  const where = `${cfg.knownHostsPath}`;
  switch (verdict.status) {
    case "known":
      return undefined;
    case "unknown":
      return `${cfg.displayUrl}: host key of ${name} is not in ${where} (refusing to connect); ` +
        `server presented ${fp}; if that is right, add it, e.g. ssh-keyscan -p ${cfg.port} ${cfg.host} >> ${where}`;
    case "changed":
      return `${cfg.displayUrl}: HOST KEY CHANGED for ${name}: server presented ${fp}, which does not match ` +
        `${where} line ${verdict.line} (refusing to connect; someone may be intercepting the connection)`;
    case "revoked":
      return `${cfg.displayUrl}: host key ${fp} of ${name} is marked @revoked in ${where} line ${verdict.line}`;
  }
}

const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);

/** Connects, verifies the host key, authenticates and opens the SFTP channel. */
export async function openSession(
  cfg: SftpConfig,
  creds: SftpCredentials,
  knownHosts: KnownHostEntry[],
  requestTimeoutMs: number,
): Promise<SftpSession> {
  const client = newClient();
  reuseGcmBuffers(client);
  let refusal: string | undefined;
  let closed = false;
  await new Promise<void>((resolve, reject) => {
    client.on("ready", () => resolve());
    client.on("close", () => {
      closed = true;
      reject(new TransientError(`${cfg.displayUrl}: connection closed during SSH handshake`));
    });
    client.on("error", (err) => reject(connectError(cfg, creds, err, refusal)));
    const algorithms = hostKeyAlgorithms(knownHosts, knownHostsName(cfg.host, cfg.port));
    const connect = (opts: Record<string, unknown>) => {
      // ssh2 throws synchronously for a key it cannot parse.
      try {
        client.connect(opts);
        client.setNoDelay(true);
      } catch (err) {
        reject(connectError(cfg, creds, err as Error, refusal));
      }
    };
    connect({
      host: cfg.host,
      port: cfg.port,
      username: cfg.user,
      privateKey: creds.privateKey,
      password: creds.password,
      agent: creds.agent,
      readyTimeout: 30_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { cipher: usableCiphers(), ...(algorithms ? { serverHostKey: algorithms } : {}) },
      hostVerifier: (key: Buffer) => {
        refusal = hostKeyRefusal(cfg, knownHosts, key);
        return refusal === undefined;
      },
    });
  }).catch((err) => {
    client.end();
    throw err;
  });
  let raw: RawSftp;
  try {
    raw = await call<RawSftp>((cb) => client.sftp(cb));
  } catch (err) {
    client.end();
    const msg = (err as Error).message;
    // A connection that dropped while the channel opened is worth another try; a refusal is not.
    if (closed) throw new TransientError(`${cfg.displayUrl}: connection lost opening SFTP: ${msg}`);
    throw new BackendError(`${cfg.displayUrl}: the server refused the SFTP subsystem: ${msg}`);
  }
  const guard = guardSftp(raw, requestTimeoutMs, () => {
    // SSH keepalives go to sshd, which answers them for an SFTP server that has stopped (a hung
    // NFS-backed disk): only the server's silence tells, and the session is of no further use.
    lost(`SFTP server gave no answer within ${requestTimeoutMs} ms`);
    client.end();
  });
  const lost = (why: string) => {
    closed = true;
    guard.fail(new Error(why));
  };
  client.on("close", () => lost("connection closed"));
  client.on("end", () => lost("connection ended"));
  client.on("error", (err) => lost(err.message));
  // The server's SFTP process can exit while the SSH connection stays up; ssh2 then leaves every
  // later request on the channel unanswered, so the session counts as lost and a new one is opened.
  const channelGone = () => {
    lost("SFTP channel closed by the server");
    client.end();
  };
  raw.on("end", channelGone);
  raw.on("close", channelGone);
  return {
    sftp: guard.sftp,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      client.end();
    },
  };
}

function connectError(
  cfg: SftpConfig,
  creds: SftpCredentials,
  err: Error & { level?: string; code?: string },
  refusal: string | undefined,
): Error {
  if (refusal) return new BackendError(refusal, { cause: err });
  if (err.level === "client-authentication") {
    const tried = [
      creds.privateKey ? `key ${creds.keySource}` : "",
      creds.password !== undefined ? "password" : "",
      creds.agent ? "ssh-agent" : "",
    ].filter(Boolean).join(", ");
    return new BackendError(
      `${cfg.displayUrl}: authentication failed for user ${cfg.user} (tried: ${tried})`,
      { cause: err },
    );
  }
  if (err.level === "client-timeout" || (err.code && TRANSIENT_CODES.has(err.code))) {
    return new TransientError(
      `${cfg.displayUrl}: cannot connect to ${cfg.host}:${cfg.port} (${connectionCause(err)})`,
      undefined,
      { cause: err },
    );
  }
  if (err.level === "handshake" && /no matching/.test(err.message)) {
    return new BackendError(handshakeMismatch(cfg.displayUrl, err.message, usableCiphers(), runtimeName()), {
      cause: err,
    });
  }
  if (/Cannot parse privateKey|Encrypted private key/i.test(err.message)) {
    return new ConfigError(
      `${cfg.displayUrl}: cannot use key ${creds.keySource}: ${err.message} (passphrase-protected keys: use ssh-agent)`,
      { cause: err },
    );
  }
  return new TransientError(`${cfg.displayUrl}: SSH connection failed: ${err.message}`, undefined, {
    cause: err,
  });
}
