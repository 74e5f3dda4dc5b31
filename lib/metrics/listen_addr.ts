/** `HOST:PORT` listen addresses (`127.0.0.1:9090`, `[::1]:9090`, `:9090` = all interfaces). */
import { UsageError } from "../errors.ts";

/** A parsed listen address. */
export interface ListenAddr {
  host: string;
  port: number;
}

/** Parses `HOST:PORT`; `what` names the option or key in the error. */
export function parseListenAddr(text: string, what: string): ListenAddr {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`${what}: expected HOST:PORT (e.g. 127.0.0.1:9090), got ${JSON.stringify(text)}`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port` for URLs (IPv6 in brackets). */
export function formatHostPort(a: ListenAddr): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
