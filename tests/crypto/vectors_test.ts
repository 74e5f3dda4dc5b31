/**
 * The test vectors of docs/encryption-format.md (tests/vectors/encryption/*.json): lib/crypto must
 * decrypt each file, reproduce every ciphertext byte from the stated salt and nonce prefix, and derive
 * the stated intermediate keys; the independent reference implementation must agree as well.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decryptingStream, encryptingStream } from "../../lib/crypto/envelope.ts";
import { deriveKeyMaterial } from "../../lib/crypto/keys.ts";
import { refEncrypt, type RefParams } from "./reference.ts";
import { hex, pattern, pump, split, unhex } from "./helpers.ts";

interface Vector {
  password: string;
  argon2id: { m: number; t: number; p: number };
  chunk_exponent: number;
  salt: string;
  nonce_prefix: string;
  plaintext?: string;
  plaintext_pattern?: { length: number };
  ikm: string;
  header_key: string;
  payload_key: string;
  header: string;
  ciphertext: string;
}

const dir = new URL("../vectors/encryption/", import.meta.url);
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json")).sort();

Deno.test("vector files are present", () => {
  assertEquals(files, [
    "empty.json",
    "exact_chunk.json",
    "one_byte.json",
    "three_chunks.json",
    "unicode_password.json",
  ]);
});

for (const name of files) {
  const v: Vector = JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
  const plaintext = v.plaintext_pattern ? pattern(v.plaintext_pattern.length) : unhex(v.plaintext ?? "");
  const sealed = unhex(v.ciphertext);

  Deno.test(`vector ${name}: intermediate keys (hash-wasm Argon2id + WebCrypto HKDF)`, async () => {
    const km = await deriveKeyMaterial(v.password, unhex(v.salt), v.argon2id);
    assertEquals(hex(km.ikm), v.ikm);
    assertEquals(hex(km.headerKey), v.header_key);
    assertEquals(hex(km.payloadKey), v.payload_key);
  });

  Deno.test(`vector ${name}: decrypts to the plaintext`, async () => {
    for (const piece of [1, 17, 4096]) {
      assertEquals(await pump(decryptingStream(v.password), split(sealed, piece)), plaintext);
    }
  });

  Deno.test(`vector ${name}: re-encrypts byte for byte with the injected salt and nonce prefix`, async () => {
    const opts = {
      argon2id: v.argon2id,
      chunkExponent: v.chunk_exponent,
      salt: unhex(v.salt),
      noncePrefix: unhex(v.nonce_prefix),
    };
    for (const piece of [1, 1000, 1 << 16]) {
      const out = await pump(await encryptingStream(v.password, opts), split(plaintext, piece));
      assertEquals(hex(out.subarray(0, 84)), v.header);
      assertEquals(hex(out), v.ciphertext);
    }
  });

  Deno.test(`vector ${name}: the independent reference agrees`, () => {
    const p: RefParams = {
      password: v.password,
      ...v.argon2id,
      chunkExponent: v.chunk_exponent,
      salt: unhex(v.salt),
      noncePrefix: unhex(v.nonce_prefix),
    };
    assertEquals(hex(refEncrypt(p, plaintext)), v.ciphertext);
  });
}
