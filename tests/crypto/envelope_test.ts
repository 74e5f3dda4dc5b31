/**
 * Round trips and structural attacks on the encrypted envelope (docs/encryption-format.md): sizes
 * around chunk boundaries, chunk-for-chunk agreement with the independent @noble reference, wrong
 * password, truncation, appended data, reordered and transplanted chunks. Tiny Argon2id parameters
 * keep it fast; the default parameters are exercised once.
 */
import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { CryptoError } from "../../lib/errors.ts";
import {
  decryptingStream,
  encryptingStream,
  isEncryptedHeader,
  MAGIC_LENGTH,
} from "../../lib/crypto/envelope.ts";
import type { HeaderFields } from "../../lib/crypto/format.ts";
import { refKeys, refOpenChunk, refSealChunk, refSplit } from "./reference.ts";
import { concat, decrypt, encrypt, fast, pattern, pump, split, TINY } from "./helpers.ts";

const PW = "correct horse battery staple";
const C = 1024; // chunk size with fast(): exponent 10
const SEG = C + 16;
const HDR = 84;

/** Asserts that decrypting `sealed` fails with a CryptoError whose message matches `re`. */
async function rejectsWith(sealed: Uint8Array, re: RegExp, password = PW) {
  await rejects(decrypt(password, sealed), (err: unknown) => {
    ok(err instanceof CryptoError, `expected CryptoError, got ${err}`);
    ok(re.test(err.message), `message ${JSON.stringify(err.message)} does not match ${re}`);
    return true;
  });
}

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

Deno.test("round trip at every size around chunk boundaries", async () => {
  for (const n of [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 17]) {
    const plain = random(n);
    const sealed = await encrypt(PW, plain);
    const chunks = Math.max(1, Math.ceil(n / C));
    assertEquals(sealed.length, HDR + n + 16 * chunks, `size for n=${n}`);
    assertEquals(await decrypt(PW, sealed), plain, `n=${n}`);
  }
});

Deno.test("round trip with 64 KiB chunks, fed in odd pieces, several chunks in flight or one", async () => {
  const plain = random(5 * 65536 + 123);
  for (const inFlight of [1, 3, 8]) {
    const sealed = await encrypt(PW, plain, fast({ chunkExponent: 16, inFlight }), 10_007);
    assertEquals(sealed.length, HDR + plain.length + 6 * 16);
    assertEquals(await decrypt(PW, sealed, 65_537), plain);
  }
});

Deno.test("every chunk equals the @noble/ciphers reference, and the reference opens every chunk", async () => {
  const salt = random(16), noncePrefix = random(4);
  const plain = random(7 * C + 300);
  const sealed = await encrypt(PW, plain, fast({ salt, noncePrefix }));
  const keys = refKeys({ password: PW, ...TINY, chunkExponent: 10, salt, noncePrefix });
  const chunks = refSplit(plain, 10);
  chunks.forEach((c, i) => {
    const last = i === chunks.length - 1;
    const ours = sealed.subarray(HDR + i * SEG, HDR + i * SEG + c.length + 16);
    assertEquals(ours, refSealChunk(keys.payloadKey, noncePrefix, i, last, c), `chunk ${i}`);
    assertEquals(refOpenChunk(keys.payloadKey, noncePrefix, i, last, ours), c);
  });
});

Deno.test("wrong password is reported at the header, before any chunk", async () => {
  const sealed = await encrypt(PW, random(3 * C));
  await rejectsWith(
    sealed,
    /^wrong password \(header authentication failed\)$/,
    "Correct horse battery staple",
  );
  await rejectsWith(sealed.subarray(0, HDR + 1), /^wrong password/, "nope"); // chunks never looked at
});

Deno.test("given a source, every failure names it once: password, chunk authentication, truncation, header", async () => {
  const sealed = await encrypt(PW, random(3 * C + 5));
  const tampered = sealed.slice();
  tampered[HDR + 10] ^= 1;
  const cases: [Uint8Array, string, RegExp][] = [
    [sealed, "nope", /^wrong password \(header/],
    [tampered, PW, /^chunk 0 failed authentication/],
    [sealed.subarray(0, HDR + SEG + 500), PW, /^chunk 1 \(the last\) failed authentication/],
    [sealed.subarray(0, HDR + SEG), PW, /^truncated: archive ends after chunk 0/],
    [sealed.subarray(0, 50), PW, /^encrypted archive truncated inside the header$/],
  ];
  for (const [bytes, password, re] of cases) {
    const stream = decryptingStream(password, { source: "in.tar.gz" });
    await rejects(pump(stream, split(bytes, 333)), (err: unknown) => {
      ok(err instanceof CryptoError, `expected CryptoError, got ${err}`);
      const [source, ...rest] = err.message.split(": ");
      assertEquals(source, "in.tar.gz", err.message);
      ok(re.test(rest.join(": ")), `message ${JSON.stringify(err.message)} does not match ${re}`);
      return true;
    });
  }
});

Deno.test("default Argon2id parameters (m = 64 MiB, t = 3, p = 4) are written and honoured", async () => {
  let seen: HeaderFields | undefined;
  const plain = random(1000);
  const sealed = await pump(await encryptingStream(PW), [plain]);
  const out = await pump(decryptingStream(PW, { onHeader: (f) => (seen = f) }), [sealed]);
  assertEquals(out, plain);
  assertEquals(seen?.kdf, { m: 65536, t: 3, p: 4 });
  assertEquals(seen?.chunkExponent, 16);
  assertEquals(new DataView(sealed.buffer).getUint32(12), 65536);
});

Deno.test("two encryptions of the same data differ (fresh salt and nonce prefix)", async () => {
  const plain = random(100);
  const a = await encrypt(PW, plain), b = await encrypt(PW, plain);
  ok(a.subarray(24, 44).some((x, i) => x !== b[24 + i]));
});

Deno.test("empty payload is one empty final chunk; 1 byte; exactly one chunk; one chunk + 1 byte", async () => {
  for (const [n, chunks] of [[0, 1], [1, 1], [C, 1], [C + 1, 2]]) {
    const plain = random(n);
    const sealed = await encrypt(PW, plain);
    assertEquals(sealed.length, HDR + n + 16 * chunks);
    assertEquals(await decrypt(PW, sealed), plain);
  }
});

Deno.test("truncation at a chunk boundary is reported as a missing final chunk", async () => {
  const sealed = await encrypt(PW, random(3 * C + 5));
  await rejectsWith(
    sealed.subarray(0, HDR + 2 * SEG),
    /^truncated: archive ends after chunk 1, final chunk missing$/,
  );
  await rejectsWith(
    sealed.subarray(0, HDR + SEG),
    /^truncated: archive ends after chunk 0, final chunk missing$/,
  );
  await rejectsWith(sealed.subarray(0, HDR), /^truncated: no chunk after the header$/);
});

Deno.test("truncation inside a chunk or inside the header is rejected", async () => {
  const sealed = await encrypt(PW, random(3 * C + 5));
  await rejectsWith(
    sealed.subarray(0, HDR + SEG + 500),
    /^chunk 1 \(the last\) failed authentication \(archive truncated/,
  );
  await rejectsWith(sealed.subarray(0, HDR + 2 * SEG + 7), /^truncated inside chunk 2$/);
  await rejectsWith(sealed.subarray(0, sealed.length - 1), /^chunk 3 \(the last\) failed authentication/);
  await rejectsWith(sealed.subarray(0, 50), /^encrypted archive truncated inside the header$/);
  await rejectsWith(sealed.subarray(0, 5), /^not an encrypted vigocli archive \(bad magic\)$/);
  await rejectsWith(new Uint8Array(0), /^not an encrypted vigocli archive \(empty input\)$/);
});

Deno.test("appended data is rejected", async () => {
  const full = await encrypt(PW, random(2 * C)); // last chunk full-size: appended bytes start a new segment
  await rejectsWith(concat([full, random(40)]), /^trailing data after the final chunk 1$/);
  await rejectsWith(concat([full, random(3000)]), /^trailing data after the final chunk 1$/);
  await rejectsWith(concat([full, new Uint8Array(1)]), /^trailing data after the final chunk 1$/);
  const short = await encrypt(PW, random(C + 10)); // short last chunk: appended bytes run into it
  await rejectsWith(
    concat([short, random(1)]),
    /^chunk 1 \(the last\) failed authentication .*data appended/,
  );
  await rejectsWith(concat([short, random(5000)]), /^chunk 1 failed authentication/);
  await rejectsWith(concat([short, short.subarray(HDR)]), /^chunk 1 failed authentication/);
});

Deno.test("reordered, duplicated or dropped chunks are rejected", async () => {
  const sealed = await encrypt(PW, random(3 * C + 5));
  const seg = (i: number) => sealed.subarray(HDR + i * SEG, HDR + (i + 1) * SEG);
  const head = sealed.subarray(0, HDR), tail = sealed.subarray(HDR + 3 * SEG);
  await rejectsWith(concat([head, seg(1), seg(0), seg(2), tail]), /^chunk 0 failed authentication/);
  await rejectsWith(concat([head, seg(0), seg(0), seg(2), tail]), /^chunk 1 failed authentication/);
  await rejectsWith(concat([head, seg(0), seg(2), tail]), /^chunk 1 failed authentication/);
});

Deno.test("a chunk moved in from another archive with the same password is rejected", async () => {
  const a = await encrypt(PW, random(3 * C + 5));
  const b = await encrypt(PW, random(3 * C + 5));
  const mixed = a.slice();
  mixed.set(b.subarray(HDR + SEG, HDR + 2 * SEG), HDR + SEG);
  await rejectsWith(mixed, /^chunk 1 failed authentication \(archive corrupted or tampered with\)$/);
  const lastFromB = concat([a.subarray(0, HDR + 3 * SEG), b.subarray(HDR + 3 * SEG)]);
  await rejectsWith(lastFromB, /^chunk 3 \(the last\) failed authentication/);
  const headerFromB = concat([b.subarray(0, HDR), a.subarray(HDR)]);
  await rejectsWith(headerFromB, /^chunk 0 failed authentication/);
});

Deno.test("no plaintext of a chunk is released before that chunk authenticates", async () => {
  const plain = random(3 * C + 5);
  const sealed = await encrypt(PW, plain);
  sealed[HDR + SEG + 100] ^= 1; // damage chunk 1
  const released: Uint8Array[] = [];
  const stream = ReadableStream.from(split(sealed, 4096)).pipeThrough(decryptingStream(PW, { inFlight: 8 }));
  await rejects(async () => {
    for await (const c of stream) released.push(c);
  }, /chunk 1 failed authentication/);
  assertEquals(concat(released), plain.subarray(0, C)); // chunk 0 only
});

Deno.test("an empty final chunk after chunk 0 is rejected as non-canonical", async () => {
  const salt = random(16), noncePrefix = random(4);
  const head = (await encrypt(PW, new Uint8Array(0), fast({ salt, noncePrefix }))).subarray(0, HDR);
  const keys = refKeys({ password: PW, ...TINY, chunkExponent: 10, salt, noncePrefix });
  const forged = concat([
    head,
    refSealChunk(keys.payloadKey, noncePrefix, 0, false, pattern(C)),
    refSealChunk(keys.payloadKey, noncePrefix, 1, true, new Uint8Array(0)),
  ]);
  await rejectsWith(forged, /^chunk 1: empty final chunk \(non-canonical archive\)$/);
});

Deno.test("isEncryptedHeader recognises the magic and nothing else", async () => {
  const sealed = await encrypt(PW, random(10));
  ok(isEncryptedHeader(sealed));
  ok(isEncryptedHeader(sealed.subarray(0, MAGIC_LENGTH)));
  ok(!isEncryptedHeader(sealed.subarray(0, MAGIC_LENGTH - 1)));
  ok(!isEncryptedHeader(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3))); // gzip
  ok(!isEncryptedHeader(new Uint8Array(0)));
});

Deno.test("an empty password and invalid parameters are refused", async () => {
  await rejects(encryptingStream(""), /empty password/);
  ok((() => {
    try {
      decryptingStream("");
      return false;
    } catch (err) {
      return err instanceof CryptoError;
    }
  })());
  await rejects(encryptingStream(PW, fast({ chunkExponent: 9 })), /chunk size exponent 9 outside 10..24/);
  await rejects(encryptingStream(PW, fast({ argon2id: { m: 4, t: 1, p: 1 } })), /Argon2id memory 4 KiB/);
  await rejects(encryptingStream(PW, fast({ salt: new Uint8Array(8) })), /salt must be 16 bytes/);
});
