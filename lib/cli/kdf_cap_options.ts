/**
 * `--max-kdf-memory MIB` and `--max-kdf-iterations N`: how much Argon2id work a command reading an
 * encrypted archive will do before it learns whether the password is right (lib/crypto/kdf_cap.ts).
 */
import { Option } from "@commander-js/extra-typings";
import { UsageError } from "../errors.ts";
import { DEFAULT_KDF_CAP, type KdfCap } from "../crypto/kdf_cap.ts";

function wholeNumber(flag: string, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > max) {
      throw new UsageError(`${flag} ${text}: expected a whole number from 1 to ${max}`);
    }
    return n;
  };
}

/** `--max-kdf-memory MIB`, for every command that may decrypt an archive. */
export function maxKdfMemoryOption() {
  return new Option(
    "--max-kdf-memory <mib>",
    `refuse encrypted headers asking for more Argon2id memory (MiB; default ${
      DEFAULT_KDF_CAP.memoryKiB / 1024
    })`,
  ).argParser(wholeNumber("--max-kdf-memory", 1024));
}

/** `--max-kdf-iterations N`, for every command that may decrypt an archive. */
export function maxKdfIterationsOption() {
  return new Option(
    "--max-kdf-iterations <n>",
    `refuse encrypted headers asking for more Argon2id passes (default ${DEFAULT_KDF_CAP.iterations})`,
  ).argParser(wholeNumber("--max-kdf-iterations", 64));
}

/** The cap the options ask for. */
export function kdfCapFrom(opts: { maxKdfMemory?: number; maxKdfIterations?: number }): KdfCap {
  return {
    memoryKiB: (opts.maxKdfMemory ?? DEFAULT_KDF_CAP.memoryKiB / 1024) * 1024,
    iterations: opts.maxKdfIterations ?? DEFAULT_KDF_CAP.iterations,
  };
}
