/** Shared helpers for the crypto tests: run the envelope streams over byte arrays. */
import { concatBytes as concat } from "../../lib/bytes.ts";
import { decryptingStream, encryptingStream, type EncryptOptions } from "../../lib/crypto/envelope.ts";
import { assembleHeader, encodeMacInput } from "../../lib/crypto/format.ts";

/** Concatenates byte arrays (the library's helper, under the name the crypto tests use). */
export { concat };

/** Argon2id parameters small enough for thousands of test runs (never for real data). */
export const TINY = { m: 64, t: 1, p: 1 } as const;

/** Options for fast tests: tiny Argon2id, 1 KiB chunks unless overridden. */
export function fast(extra: EncryptOptions = {}): EncryptOptions {
  return { argon2id: { ...TINY }, chunkExponent: 10, ...extra };
}

/** Pushes `pieces` through `stream` and collects the output. */
export async function pump(stream: TransformStream<Uint8Array, Uint8Array>, pieces: Uint8Array[]) {
  const src = ReadableStream.from(pieces);
  const out: Uint8Array[] = [];
  for await (const c of src.pipeThrough(stream)) out.push(c);
  return concat(out);
}

/** Encrypts `plain`, fed in pieces of `piece` bytes. */
export async function encrypt(
  password: string,
  plain: Uint8Array,
  opts: EncryptOptions = fast(),
  piece = 700,
) {
  return pump(await encryptingStream(password, opts), split(plain, piece));
}

/** Decrypts `sealed`, fed in pieces of `piece` bytes. */
export function decrypt(password: string, sealed: Uint8Array, piece = 333) {
  return pump(decryptingStream(password), split(sealed, piece));
}

/** Cuts `bytes` into pieces of `size` (always at least one piece). */
export function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push(bytes.slice(off, off + size));
  return out.length === 0 ? [new Uint8Array(0)] : out;
}

/** Deterministic test bytes: byte j = j mod 251. */
export function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, j) => j % 251);
}

/** Lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from hex. */
export function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** A well-formed header demanding `m` KiB × `t` passes (its MAC is garbage: the cap must fire first). */
export function costlyHeader(m: number, t: number): Uint8Array {
  const macInput = encodeMacInput({
    kdf: { m, t, p: 4 },
    chunkExponent: 16,
    salt: new Uint8Array(16),
    noncePrefix: new Uint8Array(4),
  });
  return Uint8Array.from([...assembleHeader(macInput, new Uint8Array(32)), ...new Uint8Array(64)]);
}
