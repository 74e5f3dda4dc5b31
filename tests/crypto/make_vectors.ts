/**
 * Regenerates tests/vectors/encryption/*.json from the independent reference implementation
 * (reference.ts). Run by hand only when the format changes: `deno run -A tests/crypto/make_vectors.ts`.
 * vectors_test.ts then checks lib/crypto against the files.
 */
import { refEncrypt, refHeader, refKeys, type RefParams } from "./reference.ts";
import { hex, pattern, unhex } from "./helpers.ts";

interface Spec {
  file: string;
  comment: string;
  password: string;
  chunkExponent: number;
  salt: string;
  noncePrefix: string;
  plaintext: Uint8Array;
  patterned?: boolean;
}

const specs: Spec[] = [
  {
    file: "empty.json",
    comment: "empty plaintext: header + one empty final chunk (16-byte tag)",
    password: "correct horse battery staple",
    chunkExponent: 16,
    salt: "000102030405060708090a0b0c0d0e0f",
    noncePrefix: "a0a1a2a3",
    plaintext: new Uint8Array(0),
  },
  {
    file: "one_byte.json",
    comment: "one byte of plaintext",
    password: "correct horse battery staple",
    chunkExponent: 16,
    salt: "101112131415161718191a1b1c1d1e1f",
    noncePrefix: "b0b1b2b3",
    plaintext: Uint8Array.of(0x2a),
  },
  {
    file: "three_chunks.json",
    comment: "1 KiB chunks, 2500 bytes: chunks of 1024, 1024 and 452 bytes",
    password: "vigo",
    chunkExponent: 10,
    salt: "202122232425262728292a2b2c2d2e2f",
    noncePrefix: "c0c1c2c3",
    plaintext: pattern(2500),
    patterned: true,
  },
  {
    file: "exact_chunk.json",
    comment: "1 KiB chunks, exactly 1024 bytes: one full chunk that is also the last",
    password: "vigo",
    chunkExponent: 10,
    salt: "303132333435363738393a3b3c3d3e3f",
    noncePrefix: "d0d1d2d3",
    plaintext: pattern(1024),
    patterned: true,
  },
  {
    file: "unicode_password.json",
    comment: "non-ASCII password, hashed as its UTF-8 bytes without normalisation",
    password: "pässwörd 🔑 パスワード",
    chunkExponent: 16,
    salt: "404142434445464748494a4b4c4d4e4f",
    noncePrefix: "e0e1e2e3",
    plaintext: new TextEncoder().encode("hello, encrypted vigo backup\n"),
  },
];

for (const s of specs) {
  const p: RefParams = {
    password: s.password,
    m: 64,
    t: 1,
    p: 1,
    chunkExponent: s.chunkExponent,
    salt: unhex(s.salt),
    noncePrefix: unhex(s.noncePrefix),
  };
  const keys = refKeys(p);
  const vector = {
    comment: `${s.comment}. Tiny Argon2id parameters for test vectors only.`,
    password: s.password,
    argon2id: { m: p.m, t: p.t, p: p.p },
    chunk_exponent: s.chunkExponent,
    salt: s.salt,
    nonce_prefix: s.noncePrefix,
    ...(s.patterned
      ? { plaintext_pattern: { length: s.plaintext.length } }
      : { plaintext: hex(s.plaintext) }),
    ikm: hex(keys.ikm),
    header_key: hex(keys.headerKey),
    payload_key: hex(keys.payloadKey),
    header: hex(refHeader(p, keys)),
    ciphertext: hex(refEncrypt(p, s.plaintext, keys)),
  };
  const path = new URL(`../vectors/encryption/${s.file}`, import.meta.url);
  await Deno.writeTextFile(path, JSON.stringify(vector, null, 2) + "\n");
  console.log(`wrote ${s.file}`);
}
