/** `HOST:PORT` listen addresses (`127.0.0.1:9090`, `[::1]:9090`, `:9090` = all interfaces). */
import { isIPv6 } from "node:net";
import { UsageError } from "../errors.ts";

/** A parsed listen address. */
export interface ListenAddr {
  host: string;
  port: number;
}

/**
 * `text` as a listen address, or what is wrong with it. Decided without DNS: a host of digits and dots
 * can only be an IPv4 address (no DNS name is all digits), so one that is not a valid one is refused
 * here instead of failing later in the name lookup as "not found". One that is valid is given as the
 * dotted quad the kernel binds, so `127.1` counts as loopback and messages show the real address.
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
  if (/^[\d.]+$/.test(host)) {
    const quad = inetAton(host);
    if (quad === undefined) {
      return `${
        JSON.stringify(host)
      } is not an IPv4 address (a.b.c.d of numbers 0-255, or a short form such as 127.1), in ${
        JSON.stringify(text)
      }`;
    }
    return { host: quad, port };
  }
  return { host, port };
}

/**
 * A host of digits and dots read as inet_aton(3) reads it, which is what the name lookup behind
 * listen() does: `0` is 0.0.0.0 and `127.1` is 127.0.0.1 there, so refusing them refused addresses
 * that bind. One to four numbers, the last filling the bytes the others leave (a: 32 bits; a.b: 8 +
 * 24; a.b.c: 8 + 8 + 16; a.b.c.d: 8 bits each); a number with a leading 0 is octal, as there (so
 * 010 is 8 and 09 is no number). The dotted quad, or undefined when inet_aton would refuse it.
 */
function inetAton(host: string): string | undefined {
  const parts = host.split(".");
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    if (!/^(?:0[0-7]*|[1-9]\d*)$/.test(part)) return undefined;
    values.push(part.startsWith("0") ? parseInt(part, 8) : Number(part));
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  for (let shift = 8 * (3 - values.length); shift >= 0; shift -= 8) {
    values.push(Math.floor(last / 2 ** shift) % 256);
  }
  return values.join(".");
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
