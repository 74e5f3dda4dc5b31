/**
 * An independent, whole-buffer implementation of docs/encryption-format.md, written from the spec
 * with different libraries than lib/crypto (@noble/hashes for Argon2id, HKDF, HMAC and SHA-256,
 * @noble/ciphers for AES-GCM instead of hash-wasm and WebCrypto). The tests check lib/crypto against
 * it chunk for chunk; it is too slow for real archives (~40 MB/s) and only meant for small inputs.
 */
import { argon2id } from "@noble/hashes/argon2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { gcm } from "@noble/ciphers/aes.js";

/** Inputs that fix every byte of an encrypted file. */
export interface RefParams {
  password: string;
  m: number;
  t: number;
  p: number;
  chunkExponent: number;
  salt: Uint8Array;
  noncePrefix: Uint8Array;
}

/** Intermediate keys, as listed in the vector files. */
export interface RefKeys {
  ikm: Uint8Array;
  headerKey: Uint8Array;
  payloadKey: Uint8Array;
}

const enc = new TextEncoder();

/** Argon2id then HKDF-SHA-256, as in the spec's "Keys" section. */
export function refKeys(p: RefParams): RefKeys {
  const ikm = argon2id(enc.encode(p.password), p.salt, { m: p.m, t: p.t, p: p.p, dkLen: 32, version: 0x13 });
  const empty = new Uint8Array(0);
  return {
    ikm,
    headerKey: hkdf(sha256, ikm, empty, enc.encode("vigocli-backup/v1 header"), 32),
    payloadKey: hkdf(sha256, ikm, empty, enc.encode("vigocli-backup/v1 payload"), 32),
  };
}

/** The 84-byte header. */
export function refHeader(p: RefParams, keys: RefKeys): Uint8Array {
  const h = new Uint8Array(84);
  const v = new DataView(h.buffer);
  h.set([0x89, 0x56, 0x49, 0x47, 0x4f, 0x45, 0x4e, 0x43], 0);
  h[8] = 1;
  h[9] = 1;
  h[10] = p.chunkExponent;
  h[11] = 0;
  v.setUint32(12, p.m);
  v.setUint32(16, p.t);
  v.setUint32(20, p.p);
  h.set(p.salt, 24);
  h.set(p.noncePrefix, 40);
  h.set(hmac(sha256, keys.headerKey, h.subarray(0, 44)), 44);
  h.set(sha256(h.subarray(0, 76)).subarray(0, 8), 76);
  return h;
}

/** GCM nonce of chunk `i`. */
export function refNonce(prefix: Uint8Array, i: number): Uint8Array {
  const n = new Uint8Array(12);
  n.set(prefix, 0);
  new DataView(n.buffer).setBigUint64(4, BigInt(i));
  return n;
}

/** The plaintext cut into chunks per the spec (an empty plaintext is one empty chunk). */
export function refSplit(plaintext: Uint8Array, chunkExponent: number): Uint8Array[] {
  const size = 2 ** chunkExponent;
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < plaintext.length; off += size) chunks.push(plaintext.subarray(off, off + size));
  return chunks.length === 0 ? [new Uint8Array(0)] : chunks;
}

/** Seals one chunk with @noble/ciphers. */
export function refSealChunk(
  payloadKey: Uint8Array,
  prefix: Uint8Array,
  i: number,
  final: boolean,
  plain: Uint8Array,
) {
  return gcm(payloadKey, refNonce(prefix, i), Uint8Array.of(final ? 1 : 0)).encrypt(plain);
}

/** Opens one chunk with @noble/ciphers (throws on a bad tag). */
export function refOpenChunk(
  payloadKey: Uint8Array,
  prefix: Uint8Array,
  i: number,
  final: boolean,
  sealed: Uint8Array,
) {
  return gcm(payloadKey, refNonce(prefix, i), Uint8Array.of(final ? 1 : 0)).decrypt(sealed);
}

/** The whole encrypted file. */
export function refEncrypt(p: RefParams, plaintext: Uint8Array, keys = refKeys(p)): Uint8Array {
  const chunks = refSplit(plaintext, p.chunkExponent);
  const parts = [refHeader(p, keys)];
  chunks.forEach((c, i) =>
    parts.push(refSealChunk(keys.payloadKey, p.noncePrefix, i, i === chunks.length - 1, c))
  );
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}
