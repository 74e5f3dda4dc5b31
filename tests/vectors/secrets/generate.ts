/**
 * Regenerates the secret-store test vectors with an implementation independent of lib/secrets
 * (@noble/ciphers AES-GCM, node:crypto SHA-256), following docs/secrets-format.md byte by byte.
 * Deterministic: fixed keys and nonces. Run: deno run -A tests/vectors/secrets/generate.ts
 */
import { gcm } from "@noble/ciphers/aes.js";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const secretsDir = join(here, "root", "secrets");
const enc = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const masterKey = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 … 1f
const otherKey = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);
const keyId = (k: Uint8Array) =>
  new Uint8Array(createHash("sha256").update("vigo-master-key-id v1\0").update(k).digest().subarray(0, 8));

function seal(key: Uint8Array, name: string, value: Uint8Array, nonce: Uint8Array): Uint8Array {
  const head = new Uint8Array([0x56, 0x47, 0x53, 0x43, 0x01, ...keyId(key)]);
  const aad = new Uint8Array([...head, ...enc.encode(name)]);
  const sealed = gcm(key, nonce, aad).encrypt(value);
  return new Uint8Array([...head, ...nonce, ...sealed]);
}

function write(name: string, bytes: Uint8Array) {
  const p = join(secretsDir, ...name.split("/"));
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, bytes, { mode: 0o600 });
}

const nonce = (n: number) => Uint8Array.from({ length: 12 }, (_, i) => (n * 16 + i) & 0xff);
const cases: Record<string, unknown>[] = [];

function good(name: string, value: Uint8Array, n: number) {
  const file = seal(masterKey, name, value, nonce(n));
  write(name, file);
  cases.push({ name, expect: "ok", value_hex: hex(value), nonce_hex: hex(nonce(n)), file_hex: hex(file) });
}
function bad(name: string, file: Uint8Array, error: string, why: string) {
  write(name, file);
  cases.push({ name, expect: "crypto_error", error, why });
}

good("vigo/backup/aws_access_key", enc.encode("AKIAIOSFODNN7EXAMPLE"), 1);
good("vigo/backup/aws_secret_key", enc.encode("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), 2);
good("empty", new Uint8Array(0), 3);
good("unicode.txt", enc.encode("pässwörd ✓ 🔑\n"), 4);

const base = seal(masterKey, "bad/tampered_tag", enc.encode("value"), nonce(5));
base[base.length - 1] ^= 0x01;
bad("bad/tampered_tag", base, "authentication failed", "last tag byte flipped");
const body = seal(masterKey, "bad/tampered_body", enc.encode("value"), nonce(6));
body[25] ^= 0x80;
bad("bad/tampered_body", body, "authentication failed", "first ciphertext byte flipped");
bad(
  "bad/swapped",
  seal(masterKey, "vigo/backup/aws_access_key", enc.encode("AKIAIOSFODNN7EXAMPLE"), nonce(7)),
  "authentication failed",
  "a valid file of another secret name copied here: the name is associated data",
);
bad(
  "bad/wrong_key",
  seal(otherKey, "bad/wrong_key", enc.encode("value"), nonce(8)),
  "different master key",
  "sealed under another master key (its key id differs)",
);
const ver = seal(masterKey, "bad/version2", enc.encode("value"), nonce(9));
ver[4] = 2;
bad("bad/version2", ver, "unsupported secret file version 2", "version byte 2");
bad(
  "bad/truncated",
  seal(masterKey, "bad/truncated", enc.encode("value"), nonce(10)).subarray(0, 30),
  "too short",
  "cut to 30 bytes",
);
bad(
  "bad/not_a_secret",
  enc.encode("just some text that is long enough to pass the length check\n"),
  "bad magic",
  "plain text",
);

const masterB64 = btoa(String.fromCharCode(...masterKey));
writeFileSync(join(secretsDir, ".master.key"), `vigo-master-key v1 ${masterB64}\n`, { mode: 0o600 });

// 32 bytes fill 43 base64 characters with 2 bits to spare: the last character before "=" has its
// low 2 bits unused, so flipping them (8 -> 9) decodes to the same bytes with a lax decoder.
const nonCanonical = `${masterB64.slice(0, 42)}${String.fromCharCode(masterB64.charCodeAt(42) + 1)}=`;
const masterKeyLines = [
  { line: `vigo-master-key v1 ${masterB64}`, expect: "ok", why: "canonical: 44 characters, padded" },
  {
    line: `vigo-master-key v1 ${masterB64.slice(0, 43)}`,
    expect: "crypto_error",
    error: "not canonical base64",
    why: "43 characters: padding left out",
  },
  {
    line: `vigo-master-key v1 ${nonCanonical}`,
    expect: "crypto_error",
    error: "not canonical base64",
    why: "unused low bits of the last character set: same bytes, another spelling",
  },
];
writeFileSync(
  join(here, "vectors.json"),
  JSON.stringify(
    {
      comment:
        "Secret store vectors; see docs/secrets-format.md. Server root: root/. Regenerate with generate.ts.",
      master_key_hex: hex(masterKey),
      master_key_id_hex: hex(keyId(masterKey)),
      other_key_hex: hex(otherKey),
      master_key_lines: masterKeyLines,
      cases,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${cases.length} cases under ${here}`);
