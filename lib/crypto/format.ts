/**
 * Byte layout of the encrypted archive envelope, version 1 (docs/encryption-format.md): header
 * encoding and parsing, chunk nonces and associated data. Pure: no keys, no I/O. The checks here run
 * before the expensive key derivation, so a damaged header is rejected at once.
 */
import { createHash } from "node:crypto";
import { CryptoError } from "../errors.ts";

/** First 8 bytes of every encrypted archive: `\x89VIGOENC`. */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x56, 0x49, 0x47, 0x4f, 0x45, 0x4e, 0x43);
/** The only format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** KDF id for Argon2id (version 0x13). */
export const KDF_ARGON2ID = 1;
/** Total header length in bytes. */
export const HEADER_LENGTH = 84;
/** Length of the header part the MAC covers (everything before the MAC). */
export const MAC_INPUT_LENGTH = 44;
/** Offset of the 8-byte unkeyed checksum. */
const CHECKSUM_OFFSET = 76;
/** Salt length in bytes. */
export const SALT_LENGTH = 16;
/** Nonce prefix length in bytes (the other 8 bytes of the GCM nonce are the chunk counter). */
export const NONCE_PREFIX_LENGTH = 4;
/** AES-GCM tag length in bytes. */
export const TAG_LENGTH = 16;
/** Chunk size exponent writers use: 64 KiB plaintext chunks (measured as fast as 1 MiB ones). */
export const DEFAULT_CHUNK_EXPONENT = 16;
/** Smallest and largest chunk size exponent a reader accepts. */
export const CHUNK_EXPONENT_RANGE = [10, 24] as const;

/** Argon2id cost parameters as stored in the header. */
export interface Argon2idParams {
  /** Memory in KiB. */
  m: number;
  /** Iterations. */
  t: number;
  /** Parallelism (lanes). */
  p: number;
}

/** RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes. */
export const DEFAULT_ARGON2ID: Readonly<Argon2idParams> = Object.freeze({ m: 65536, t: 3, p: 4 });
/** Reader limits, so a crafted header cannot demand unbounded memory or time. */
export const ARGON2ID_LIMITS = { maxM: 1048576, maxT: 64, maxP: 64 } as const;

/** The header fields that are not derived from keys. */
export interface HeaderFields {
  kdf: Argon2idParams;
  chunkExponent: number;
  salt: Uint8Array;
  noncePrefix: Uint8Array;
}

/** A header split into its parts, after the checks that need no key. */
export interface ParsedHeader {
  fields: HeaderFields;
  /** The 44 bytes the MAC covers. */
  macInput: Uint8Array;
  /** The stored 32-byte MAC. */
  mac: Uint8Array;
}

/** True when `first` (the first bytes of a file, at least 8) starts with {@link MAGIC}. */
export function hasMagic(first: Uint8Array): boolean {
  if (first.length < MAGIC.length) return false;
  return MAGIC.every((b, i) => first[i] === b);
}

/** Why `fields` cannot be written or read, or undefined when they are valid. */
function invalidFieldsReason(f: HeaderFields): string | undefined {
  const { m, t, p } = f.kdf;
  const [minK, maxK] = CHUNK_EXPONENT_RANGE;
  if (!Number.isInteger(f.chunkExponent) || f.chunkExponent < minK || f.chunkExponent > maxK) {
    return `chunk size exponent ${f.chunkExponent} outside ${minK}..${maxK}`;
  }
  if (!Number.isInteger(p) || p < 1 || p > ARGON2ID_LIMITS.maxP) {
    return `Argon2id parallelism ${p} outside 1..${ARGON2ID_LIMITS.maxP}`;
  }
  if (!Number.isInteger(t) || t < 1 || t > ARGON2ID_LIMITS.maxT) {
    return `Argon2id iterations ${t} outside 1..${ARGON2ID_LIMITS.maxT}`;
  }
  if (!Number.isInteger(m) || m < 8 * p || m > ARGON2ID_LIMITS.maxM) {
    return `Argon2id memory ${m} KiB outside ${8 * p}..${ARGON2ID_LIMITS.maxM}`;
  }
  if (f.salt.length !== SALT_LENGTH) return `salt must be ${SALT_LENGTH} bytes`;
  if (f.noncePrefix.length !== NONCE_PREFIX_LENGTH) {
    return `nonce prefix must be ${NONCE_PREFIX_LENGTH} bytes`;
  }
  return undefined;
}

/** The 44 header bytes the MAC covers. Throws a CryptoError for invalid fields. */
export function encodeMacInput(f: HeaderFields): Uint8Array {
  const reason = invalidFieldsReason(f);
  if (reason) throw new CryptoError(`invalid encryption parameters: ${reason}`);
  const out = new Uint8Array(MAC_INPUT_LENGTH);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[8] = FORMAT_VERSION;
  out[9] = KDF_ARGON2ID;
  out[10] = f.chunkExponent;
  out[11] = 0;
  view.setUint32(12, f.kdf.m);
  view.setUint32(16, f.kdf.t);
  view.setUint32(20, f.kdf.p);
  out.set(f.salt, 24);
  out.set(f.noncePrefix, 40);
  return out;
}

/** The full 84-byte header: MAC input, MAC, checksum. */
export function assembleHeader(macInput: Uint8Array, mac: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  out.set(macInput, 0);
  out.set(mac, MAC_INPUT_LENGTH);
  out.set(checksum(out.subarray(0, CHECKSUM_OFFSET)), CHECKSUM_OFFSET);
  return out;
}

/**
 * Checks 1–4 of the spec on the first {@link HEADER_LENGTH} bytes: magic, version, checksum, field
 * ranges. Throws a CryptoError naming the check that failed.
 */
export function parseHeader(header: Uint8Array): ParsedHeader {
  if (!hasMagic(header)) throw new CryptoError("not an encrypted vigocli archive (bad magic)");
  if (header.length < HEADER_LENGTH) throw new CryptoError("encrypted archive truncated inside the header");
  if (header[8] !== FORMAT_VERSION) {
    throw new CryptoError(`unsupported encrypted-archive version ${header[8]}`);
  }
  const expected = checksum(header.subarray(0, CHECKSUM_OFFSET));
  if (!expected.every((b, i) => header[CHECKSUM_OFFSET + i] === b)) {
    throw new CryptoError("encrypted archive header damaged (checksum mismatch)");
  }
  if (header[9] !== KDF_ARGON2ID) {
    throw new CryptoError(`encrypted archive header invalid: unknown KDF ${header[9]}`);
  }
  if (header[11] !== 0) throw new CryptoError("encrypted archive header invalid: reserved byte is not zero");
  const view = new DataView(header.buffer, header.byteOffset, HEADER_LENGTH);
  const fields: HeaderFields = {
    kdf: { m: view.getUint32(12), t: view.getUint32(16), p: view.getUint32(20) },
    chunkExponent: header[10],
    salt: header.slice(24, 40),
    noncePrefix: header.slice(40, 44),
  };
  const reason = invalidFieldsReason(fields);
  if (reason) throw new CryptoError(`encrypted archive header invalid: ${reason}`);
  return {
    fields,
    macInput: header.slice(0, MAC_INPUT_LENGTH),
    mac: header.slice(MAC_INPUT_LENGTH, CHECKSUM_OFFSET),
  };
}

/** GCM nonce of chunk `index`: nonce prefix || index as 64-bit big-endian. */
export function chunkNonce(noncePrefix: Uint8Array, index: number): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(noncePrefix, 0);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(index));
  return nonce;
}

/** Associated data of a chunk: one byte, 1 for the last chunk, 0 otherwise. */
export function chunkAad(final: boolean): Uint8Array {
  return Uint8Array.of(final ? 1 : 0);
}

function checksum(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest().subarray(0, 8));
}
