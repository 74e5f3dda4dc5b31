/**
 * Key schedule of the encrypted archive envelope: Argon2id (hash-wasm) turns the password into input
 * keying material, HKDF-SHA-256 (WebCrypto) splits it into a header key and a payload key.
 */
import { argon2id } from "hash-wasm";
import type { Argon2idParams } from "./format.ts";

/** Raw key bytes; exposed for the test vectors only. */
export interface KeyMaterial {
  ikm: Uint8Array;
  headerKey: Uint8Array;
  payloadKey: Uint8Array;
}

/** Keys as non-extractable WebCrypto keys, ready for HMAC and AES-GCM. */
export interface EnvelopeKeys {
  /** HMAC-SHA-256 key that authenticates the header. */
  header: CryptoKey;
  /** AES-256-GCM key that seals the chunks. */
  payload: CryptoKey;
}

const HEADER_INFO = new TextEncoder().encode("vigocli-backup/v1 header");
const PAYLOAD_INFO = new TextEncoder().encode("vigocli-backup/v1 payload");

/** Runs Argon2id and HKDF. The result holds secrets: callers zero it after importing. */
export async function deriveKeyMaterial(
  password: string,
  salt: Uint8Array,
  kdf: Argon2idParams,
): Promise<KeyMaterial> {
  const ikm = await argon2id({
    password: new TextEncoder().encode(password),
    salt,
    memorySize: kdf.m,
    iterations: kdf.t,
    parallelism: kdf.p,
    hashLength: 32,
    outputType: "binary",
  });
  const hkdfKey = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, ["deriveBits"]);
  const expand = async (info: Uint8Array) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info as BufferSource },
        hkdfKey,
        256,
      ),
    );
  return { ikm, headerKey: await expand(HEADER_INFO), payloadKey: await expand(PAYLOAD_INFO) };
}

/** Derives both keys for `password` and imports them; the raw bytes are zeroed afterwards. */
export async function deriveEnvelopeKeys(
  password: string,
  salt: Uint8Array,
  kdf: Argon2idParams,
): Promise<EnvelopeKeys> {
  const km = await deriveKeyMaterial(password, salt, kdf);
  try {
    const header = await crypto.subtle.importKey(
      "raw",
      km.headerKey as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    const payload = await crypto.subtle.importKey("raw", km.payloadKey as BufferSource, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    return { header, payload };
  } finally {
    km.ikm.fill(0);
    km.headerKey.fill(0);
    km.payloadKey.fill(0);
  }
}

/** HMAC-SHA-256 of the header's MAC input. */
export async function headerMac(keys: EnvelopeKeys, macInput: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", keys.header, macInput as BufferSource));
}

/** Constant-time check of a stored header MAC. */
export function verifyHeaderMac(keys: EnvelopeKeys, macInput: Uint8Array, mac: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", keys.header, mac as BufferSource, macInput as BufferSource);
}
