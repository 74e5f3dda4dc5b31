/** The secret file and master key formats against the vectors in tests/vectors/secrets/. */
import assert from "node:assert/strict";
import { gcm } from "@noble/ciphers/aes.js";
import { join } from "node:path";
import { CryptoError } from "../../lib/errors.ts";
import { decodeMasterKey, encodeMasterKey, masterKeyId } from "../../lib/secrets/master_key_format.ts";
import { decodeSecretFile, encodeSecretFile, HEADER_BYTES } from "../../lib/secrets/secret_file.ts";
import { REPO_ROOT } from "../helpers/cli.ts";

const VEC = join(REPO_ROOT, "tests/vectors/secrets");
interface Case {
  name: string;
  expect: "ok" | "crypto_error";
  value_hex?: string;
  nonce_hex?: string;
  file_hex?: string;
  error?: string;
}
const vectors = JSON.parse(await Deno.readTextFile(join(VEC, "vectors.json"))) as {
  master_key_hex: string;
  master_key_id_hex: string;
  master_key_lines: { line: string; expect: "ok" | "crypto_error"; error?: string; why: string }[];
  cases: Case[];
};
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fileOf = (name: string) => join(VEC, "root/secrets", ...name.split("/"));

Deno.test("master key vector: file decodes to the documented bytes and key id", async () => {
  const text = await Deno.readTextFile(join(VEC, "root/secrets/.master.key"));
  const key = decodeMasterKey(text, ".master.key");
  assert.equal(hex(key), vectors.master_key_hex);
  assert.equal(hex(masterKeyId(key)), vectors.master_key_id_hex);
  assert.equal(encodeMasterKey(key), text);
});

Deno.test("master key: tolerant of surrounding whitespace, strict about everything else", () => {
  const key = unhex(vectors.master_key_hex);
  const line = encodeMasterKey(key).trim();
  assert.deepEqual(decodeMasterKey(`${line}\r\n`, "k"), key);
  for (
    const bad of [
      "",
      "vigo-master-key v2 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
      "vigo-master-key v1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", // 31 bytes
      "vigo-master-key v1 not*base64",
      btoa(String.fromCharCode(...key)),
    ]
  ) {
    assert.throws(() => decodeMasterKey(bad, "/x/.master.key"), (e: unknown) => {
      assert.ok(e instanceof CryptoError);
      assert.match(e.message, /^\/x\/\.master\.key: /);
      return true;
    });
  }
});

for (const m of vectors.master_key_lines) {
  Deno.test(`master key line vector (${m.why}): ${m.expect}`, () => {
    if (m.expect === "ok") {
      assert.equal(hex(decodeMasterKey(`${m.line}\n`, "k")), vectors.master_key_hex);
      return;
    }
    assert.throws(() => decodeMasterKey(`${m.line}\n`, "/x/.master.key"), (e: unknown) => {
      assert.ok(e instanceof CryptoError, String(e));
      assert.match(e.message, /^\/x\/\.master\.key: /);
      assert.ok(e.message.includes(m.error!), `${e.message} lacks ${m.error}`);
      return true;
    });
  });
}

for (const c of vectors.cases) {
  Deno.test(`secret vector ${c.name}: ${c.expect}`, async () => {
    const key = unhex(vectors.master_key_hex);
    const file = await Deno.readFile(fileOf(c.name));
    if (c.expect === "ok") {
      assert.equal(hex(file), c.file_hex);
      const value = await decodeSecretFile(key, c.name, file, fileOf(c.name));
      assert.equal(hex(value), c.value_hex);
      // Encoding with the vector's nonce reproduces the file byte for byte.
      const again = await encodeSecretFile(key, c.name, value, unhex(c.nonce_hex!));
      assert.equal(hex(again), c.file_hex);
    } else {
      await assert.rejects(() => decodeSecretFile(key, c.name, file, fileOf(c.name)), (e: unknown) => {
        assert.ok(e instanceof CryptoError, String(e));
        assert.ok(e.message.startsWith(`${fileOf(c.name)}: `), e.message);
        assert.ok(e.message.includes(c.error!), `${e.message} lacks ${c.error}`);
        return true;
      });
    }
  });
}

Deno.test("WebCrypto output is decrypted by @noble/ciphers and vice versa", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const name = "a/b/c";
  for (const len of [0, 1, 15, 16, 17, 1000]) {
    const value = crypto.getRandomValues(new Uint8Array(len));
    const file = await encodeSecretFile(key, name, value);
    const aad = new Uint8Array([...file.subarray(0, 13), ...new TextEncoder().encode(name)]);
    const nonce = file.subarray(13, HEADER_BYTES);
    assert.deepEqual(gcm(key, nonce, aad).decrypt(file.subarray(HEADER_BYTES)), value);
    const nobleSealed = gcm(key, nonce, aad).encrypt(value);
    const nobleFile = new Uint8Array([...file.subarray(0, HEADER_BYTES), ...nobleSealed]);
    assert.deepEqual(nobleFile, file);
    assert.deepEqual(await decodeSecretFile(key, name, nobleFile, "f"), value);
  }
});

Deno.test("every single-byte change to a secret file is detected", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await encodeSecretFile(key, "n", new TextEncoder().encode("value"));
  for (let i = 0; i < file.length; i++) {
    const bad = file.slice();
    bad[i] ^= 0x01;
    await assert.rejects(
      () => decodeSecretFile(key, "n", bad, "f"),
      CryptoError,
      `byte ${i} flip not detected`,
    );
  }
  await assert.rejects(() => decodeSecretFile(key, "n", file.subarray(0, file.length - 1), "f"), CryptoError);
});

Deno.test("two encodings of the same value differ (fresh nonce per write)", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const v = new TextEncoder().encode("same");
  const a = await encodeSecretFile(key, "n", v);
  const b = await encodeSecretFile(key, "n", v);
  assert.notDeepEqual(a, b);
});
