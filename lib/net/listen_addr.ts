/** `HOST:PORT` listen addresses (`127.0.0.1:9090`, `[::1]:9090`, `:9090` = all interfaces). */
import { isIPv4, isIPv6 } from "node:net";
import { UsageError } from "../errors.ts";

/** A parsed listen address. */
export interface ListenAddr {
  host: string;
  port: number;
}

/**
 * `text` as a listen address, or what is wrong with it. Decided without DNS: a host of digits and dots
 * can only be an IPv4 address (no DNS name is all digits), so one that is not a valid one is refused
 * here instead of failing later in the name lookup as "not found".
 */
function parse(text: string): ListenAddr | string {
  const m = /^(?:\[([^\]]*)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return `expected HOST:PORT (e.g. 127.0.0.1:9090), got ${JSON.stringify(text)}`;
  const port = Number(m[3]);
  // Port 0 asks the kernel for a free port.
  if (port > 65535) return `port ${m[3]} out of range (0-65535) in ${JSON.stringify(text)}`;
  if (m[1] !== undefined) {
    if (!isIPv6(m[1])) return `${JSON.stringify(m[1])} is not an IPv6 address, in ${JSON.stringify(text)}`;
    return { host: m[1], port };
  }
  const host = m[2] || "0.0.0.0";
  if (/^[\d.]+$/.test(host) && !isIPv4(host)) {
    return `${JSON.stringify(host)} is not an IPv4 address (four numbers 0-255), in ${JSON.stringify(text)}`;
  }
  return { host, port };
}

/** Parses `HOST:PORT`; `what` names the option in the {@link UsageError} (exit 2). */
export function parseListenAddr(text: string, what: string): ListenAddr {
  const addr = parse(text);
  if (typeof addr === "string") throw new UsageError(`${what}: ${addr}`);
  return addr;
}

/** What is wrong with `text` as a `HOST:PORT` listen address, or undefined when it is one. */
export function listenAddrProblem(text: string): string | undefined {
  const addr = parse(text);
  return typeof addr === "string" ? addr : undefined;
}

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port` for URLs (IPv6 in brackets). */
export function formatHostPort(a: ListenAddr): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
