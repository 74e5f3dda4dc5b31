/**
 * The master key file format (docs/secrets-format.md): one text line
 * `vigo-master-key v1 <base64 of 32 random bytes>`, so an operator can paste it into a password
 * manager and back, and a future format can say so in its first word.
 */
import { createHash } from "node:crypto";
import { CryptoError } from "../errors.ts";

/** Length of an AES-256 key in bytes. */
export const MASTER_KEY_BYTES = 32;
/** Length of the key id stored in every secret file. */
export const KEY_ID_BYTES = 8;
/** Length of the key's base64 text: standard alphabet, padded. */
const MASTER_KEY_BASE64_CHARS = 44;
/** The text before the base64 key. */
export const MASTER_KEY_PREFIX = "vigo-master-key v1 ";

/** The file contents for `key`, newline-terminated. */
export function encodeMasterKey(key: Uint8Array): string {
  if (key.length !== MASTER_KEY_BYTES) throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
  return `${MASTER_KEY_PREFIX}${btoa(String.fromCharCode(...key))}\n`;
}

/**
 * Parses master key file contents. Surrounding whitespace (a trailing CRLF from a password
 * manager) is tolerated; anything else is a {@link CryptoError} naming `label`, without key bytes.
 */
export function decodeMasterKey(text: string, label: string): Uint8Array {
  const line = text.trim();
  if (!line.startsWith(MASTER_KEY_PREFIX)) {
    throw new CryptoError(`${label}: not a Vigo master key file (expected "${MASTER_KEY_PREFIX.trim()} …")`);
  }
  const b64 = line.slice(MASTER_KEY_PREFIX.length);
  let bytes: Uint8Array;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error("bad alphabet");
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    throw new CryptoError(`${label}: master key is not valid base64`);
  }
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new CryptoError(`${label}: master key has ${bytes.length} bytes, expected ${MASTER_KEY_BYTES}`);
  }
  // atob also takes the unpadded form and ignores the unused low bits of the last character, so
  // several texts would name one key; the format admits exactly one spelling per key.
  if (b64.length !== MASTER_KEY_BASE64_CHARS || btoa(String.fromCharCode(...bytes)) !== b64) {
    throw new CryptoError(
      `${label}: master key is not canonical base64 (${MASTER_KEY_BASE64_CHARS} characters with padding)`,
    );
  }
  return bytes;
}

/**
 * A short public fingerprint of the key, stored in each secret file so that "encrypted under a
 * different master key" can be told apart from "tampered". Domain-separated SHA-256, truncated:
 * it reveals nothing usable about the key.
 */
export function masterKeyId(key: Uint8Array): Uint8Array {
  const h = createHash("sha256").update("vigo-master-key-id v1\0").update(key).digest();
  return new Uint8Array(h.subarray(0, KEY_ID_BYTES));
}
