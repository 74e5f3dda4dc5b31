/**
 * The registry of every password, secret value and key the test suite hands to the CLI. Tests take
 * their secrets from here, so the leak check (tests/helpers/leak_check.ts, run by scripts/test.ts
 * after each phase) knows what must never appear in anything the CLI prints or passes to a child.
 * Add a secret here before using it in a test; keep values distinctive (≥ 8 characters) so a match
 * is a leak, not a coincidence.
 */

/** One registered secret: a name to report (never the value) and the value. */
export interface TestSecret {
  name: string;
  value: string;
}

/** Password of the encrypted-archive tests (`--password-file`, VIGO_BACKUP_PASSWORD). */
export const ARCHIVE_PASSWORD = "correct horse battery staple";
/** Secret access key of the SigV4-checking S3 server helper (tests/helpers/s3_server.ts). */
export const S3_SECRET_ACCESS_KEY = "vigo-test-secret-0123456789";
/** An S3 secret key with `#` and `;` inside it, for the credentials file's inline-comment rule. */
export const S3_SECRET_WITH_HASH = "vigo#hash;secret-4567";
/** A secret-store value used as an S3 secret key (`secret set`, then `secret:` in server.yaml). */
export const STORED_SECRET_KEY = "s3cr3t/value";
/** The secret-store vector values (tests/vectors/secrets/vectors.json). */
const VECTOR_SECRET_VALUES = ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"];
/** The secret-store vectors' master key, as hex. */
const VECTOR_MASTER_KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/** Every registered secret. */
export const TEST_SECRETS: readonly TestSecret[] = [
  { name: "archive password", value: ARCHIVE_PASSWORD },
  { name: "S3 server secret access key", value: S3_SECRET_ACCESS_KEY },
  { name: "stored S3 secret key", value: STORED_SECRET_KEY },
  { name: "S3 secret key with # and ;", value: S3_SECRET_WITH_HASH },
  { name: "secret-store vector aws_access_key", value: VECTOR_SECRET_VALUES[0] },
  { name: "secret-store vector aws_secret_key", value: VECTOR_SECRET_VALUES[1] },
  { name: "secret-store vector master key", value: VECTOR_MASTER_KEY_HEX },
];
