/**
 * The CLI test files (`*_cli_test.ts`) phases c and d of `./dev test` (scripts/test.ts) run: every one
 * (phase c), the core of {@link AARCH64_CORE} (phase d), or those among the PATH arguments.
 */
import { join } from "node:path";
import { REPO } from "./compile.ts";

/**
 * The CLI tests phase d runs by default: one or more per capability whose code path depends on the
 * runtime build (so may differ on aarch64): start-up and build facts, SQLite and the online backup,
 * libdeflate/zlib and worker threads, WebCrypto and Argon2id (WASM), LZ4 and the WAL reader against the
 * real litestream, the replicator under kill -9, flock through bun:ffi, fetch + SigV4, ssh, node:http and
 * the status page in a browser, the SQL dump. Phase c runs every CLI test on x86_64 from the same bundle;
 * re-running all of them under emulation costs ~35 min for no runtime path these do not already take.
 */
export const AARCH64_CORE = [
  "tests/archive/archive_vector_cli_test.ts",
  "tests/archive/backup_encrypted_cli_test.ts",
  "tests/archive/backup_roundtrip_cli_test.ts",
  "tests/compile/version_cli_test.ts",
  "tests/crate/db_backup_cli_test.ts",
  "tests/litestream/litestream_interop_cli_test.ts",
  "tests/replicate/replicate_crash_cli_test.ts",
  "tests/replicate/replicate_lock_cli_test.ts",
  "tests/replicate/replicate_s3_cli_test.ts",
  "tests/sftp/ssh_config_cli_test.ts",
  "tests/status/status_page_cli_test.ts",
];

/** Every `*_cli_test.ts` under tests/, sorted, relative to the repository. */
export function cliTestFiles(dir = join(REPO, "tests"), rel = "tests"): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) out.push(...cliTestFiles(join(dir, e.name), `${rel}/${e.name}`));
    else if (e.isFile && e.name.endsWith("_cli_test.ts")) out.push(`${rel}/${e.name}`);
  }
  return out.sort();
}

/**
 * The CLI test files a phase runs: `all` (relative to the repository), or with PATH arguments those of
 * the `selected` files (absolute) that are among `all`.
 */
export function phaseFiles(all: string[], selected?: string[]): string[] {
  if (!selected) return all;
  const wanted = new Set(all.map((f) => join(REPO, f)));
  return selected.filter((f) => wanted.has(f));
}
