/**
 * The Argon2id cost a reader is willing to pay before it knows whether the password is right. The
 * format allows up to 1 GiB and 64 passes (docs/encryption-format.md), but a crafted header at those
 * limits costs minutes and a gigabyte before "wrong password"; we write 64 MiB and 3 passes, so by
 * default a reader refuses more than 4x that memory or 10 passes, unless the caller raises the cap.
 */
import { CryptoError } from "../errors.ts";
import type { Argon2idParams } from "./format.ts";

/** Upper bounds on a header's Argon2id cost. */
export interface KdfCap {
  /** Memory, KiB. */
  memoryKiB: number;
  /** Passes. */
  iterations: number;
}

/** The default cap: 256 MiB, 10 passes. */
export const DEFAULT_KDF_CAP: Readonly<KdfCap> = Object.freeze({ memoryKiB: 256 * 1024, iterations: 10 });

/** Throws {@link CryptoError} naming `source` when `kdf` costs more than `cap` allows. */
export function requireKdfWithinCap(kdf: Argon2idParams, cap: KdfCap, source: string): void {
  if (kdf.m <= cap.memoryKiB && kdf.t <= cap.iterations) return;
  throw new CryptoError(
    `${source}: encrypted header asks for Argon2id ${memory(kdf.m)} × ${kdf.t} passes, above the limit of ` +
      `${memory(cap.memoryKiB)} × ${cap.iterations} (raise it with --max-kdf-memory / --max-kdf-iterations ` +
      "only for an archive you trust)",
  );
}

/** `kib` as whole MiB when it is a multiple of 1024, else exactly in KiB (never rounded). */
function memory(kib: number): string {
  return kib % 1024 === 0 ? `${kib / 1024} MiB` : `${kib} KiB`;
}
