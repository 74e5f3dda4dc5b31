/**
 * OpenSSH `known_hosts` checking, pure: parse the file's text, decide whether a presented host key
 * is known, unknown, changed or revoked. Supports the forms OpenSSH writes: plain host patterns
 * (comma lists, `*`/`?` wildcards, `!` negation), `[host]:port` for non-standard ports, hashed
 * `|1|salt|hmac` names (`HashKnownHosts yes`), and the `@revoked` marker. `@cert-authority` lines
 * are skipped: host certificates are not supported, so such a host is reported as unknown.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";

/** One usable known_hosts line. */
export interface KnownHostEntry {
  /** Host patterns, or a single hashed `|1|…` name. */
  patterns: string[];
  /** Key type, e.g. `ssh-ed25519`. */
  keyType: string;
  /** Base64 of the public key blob. */
  keyBase64: string;
  revoked: boolean;
  line: number;
}

/** The verdict on one presented host key. */
export type HostKeyVerdict =
  | { status: "known" }
  | { status: "unknown" }
  | { status: "changed"; knownTypes: string[]; line: number }
  | { status: "revoked"; line: number };

/** Parses known_hosts text; malformed lines and `@cert-authority` lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/);
    if (fields[0] === "" || fields[0].startsWith("#")) continue;
    let revoked = false;
    if (fields[0].startsWith("@")) {
      if (fields[0] !== "@revoked") continue;
      revoked = true;
      fields.shift();
    }
    if (fields.length < 3) continue;
    out.push({
      patterns: fields[0].split(","),
      keyType: fields[1],
      keyBase64: fields[2],
      revoked,
      line: i + 1,
    });
  }
  return out;
}

/** The name known_hosts uses for a host: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>` of a public key blob, as `ssh-keygen -l` prints it. */
export function sha256Fingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(keyBlob: Uint8Array): string {
  if (keyBlob.length < 4) return "";
  const n = new DataView(keyBlob.buffer, keyBlob.byteOffset, keyBlob.byteLength).getUint32(0);
  return new TextDecoder().decode(keyBlob.subarray(4, 4 + n));
}

/**
 * OpenSSH's `*` and `?` wildcards, case-insensitive. A loop that retries only from the last `*`
 * (time at most pattern × name), not a regular expression: `*a*a*a…c` as a regex backtracks
 * exponentially against a 65-character name: 8 stars took 74 s, each 2 more about 40 times longer.
 */
function globMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  let pi = 0;
  let si = 0;
  let star = -1;
  let resume = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === "?" || (p[pi] !== "*" && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      resume = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++resume;
    } else return false;
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split("|");
  if (parts.length !== 4 || parts[1] !== "1") return false;
  const salt = Buffer.from(parts[2], "base64");
  return createHmac("sha1", salt).update(name).digest("base64") === parts[3];
}

/** True when `entry` names `name` (`host` or `[host]:port`). */
function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.patterns.length === 1 && entry.patterns[0].startsWith("|")) {
    return hashedMatch(entry.patterns[0], name);
  }
  let matched = false;
  for (const p of entry.patterns) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

/** RSA keys are offered under their signature algorithm names. */
const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/**
 * Host key algorithms to offer for `name`: the types known_hosts already holds for it, so a server
 * with several host keys presents the one we can check (as OpenSSH does). Undefined when the host
 * is not known (any algorithm; the key is then refused as unknown anyway).
 */
export function hostKeyAlgorithms(entries: KnownHostEntry[], name: string): string[] | undefined {
  const types = entries.filter((e) => !e.revoked && entryMatches(e, name)).map((e) => e.keyType);
  if (types.length === 0) return undefined;
  return [...new Set(types.flatMap((t) => ALGORITHMS_FOR_TYPE[t] ?? [t]))];
}

/** Decides whether `keyBlob`, presented by `name`, is the key known_hosts holds for it. */
export function checkHostKey(entries: KnownHostEntry[], name: string, keyBlob: Uint8Array): HostKeyVerdict {
  const b64 = Buffer.from(keyBlob).toString("base64");
  const type = keyTypeOf(keyBlob);
  const mine = entries.filter((e) => entryMatches(e, name));
  const revoked = mine.find((e) => e.revoked && e.keyBase64 === b64);
  if (revoked) return { status: "revoked", line: revoked.line };
  const live = mine.filter((e) => !e.revoked);
  if (live.some((e) => e.keyType === type && e.keyBase64 === b64)) return { status: "known" };
  if (live.length === 0) return { status: "unknown" };
  return { status: "changed", knownTypes: [...new Set(live.map((e) => e.keyType))], line: live[0].line };
}
