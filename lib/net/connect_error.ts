/**
 * The operating-system cause of a failed `fetch`, the same under Deno (a chain of causes ending in
 * "Connection refused (os error 111)") and Bun (`code: "ECONNREFUSED"`), so a message can say
 * `cannot connect to 127.0.0.1:9000 (connection refused)` instead of "fetch failed".
 */

const CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS lookup failed)",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ConnectionRefused: "connection refused",
  ConnectionReset: "connection reset",
};

const TEXTS: [RegExp, string][] = [
  [/connection refused/i, "connection refused"],
  [/dns error|name or service not known|failed to lookup/i, "host not found"],
  [/connection reset/i, "connection reset"],
  [/timed out/i, "connection timed out"],
  [/no route to host|host unreachable/i, "host unreachable"],
  [/network is unreachable/i, "network unreachable"],
  [/certificate|tls|ssl/i, "TLS handshake failed"],
];

/** A short cause for a connection failure: from an error code, else from the messages of the cause chain. */
export function connectionCause(err: unknown): string {
  const texts: string[] = [];
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.code === "string" && CODES[e.code]) return CODES[e.code];
    if (typeof e.message === "string") texts.push(e.message);
    else texts.push(String(e));
    e = e.cause as typeof e;
  }
  const all = texts.join(" / ");
  for (const [re, what] of TEXTS) if (re.test(all)) return what;
  return texts[texts.length - 1] ?? String(err);
}
