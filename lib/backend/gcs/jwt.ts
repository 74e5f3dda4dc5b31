/**
 * RS256-signed JSON Web Tokens with WebCrypto, for the service-account flow of Application Default
 * Credentials (RFC 7523 JWT bearer grant). WebCrypto keeps it identical on Deno and Bun.
 */
import { ConfigError } from "../../errors.ts";

/** base64url without padding. */
function base64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url (padding optional). */
function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The DER bytes of a PEM block (e.g. `-----BEGIN PRIVATE KEY-----`). */
function pemToDer(pem: string, what: string): Uint8Array<ArrayBuffer> {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new ConfigError(`${what}: private_key is not a PEM block`);
  if (m[1] !== "PRIVATE KEY") {
    throw new ConfigError(`${what}: expected a PKCS#8 "PRIVATE KEY", got "${m[1]}"`);
  }
  return fromBase64Url(m[2].replace(/\s+/g, "").replace(/\+/g, "-").replace(/\//g, "_"));
}

/** Imports a PKCS#8 PEM RSA private key for RS256 signing. */
export async function importRsaPrivateKey(pem: string, what: string): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      pemToDer(pem, what),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${what}: private_key is not a usable RSA key (${(err as Error).message})`);
  }
}

/** Signs `claims` as a compact RS256 JWT. */
export async function signJwt(
  claims: Record<string, unknown>,
  key: CryptoKey,
  kid?: string,
): Promise<string> {
  const enc = new TextEncoder();
  const header = { alg: "RS256", typ: "JWT", ...(kid ? { kid } : {}) };
  const input = `${base64Url(enc.encode(JSON.stringify(header)))}.${
    base64Url(enc.encode(JSON.stringify(claims)))
  }`;
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, enc.encode(input));
  return `${input}.${base64Url(new Uint8Array(sig))}`;
}
