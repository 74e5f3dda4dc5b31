/**
 * Hostile encrypted archives (lib/crypto/format.ts, lib/crypto/envelope.ts): the header and every
 * chunk come from a file that may be tampered with. Properties: any header bytes (with the magic,
 * version and checksum right, so the field checks are reached) parse or fail with a CryptoError
 * (exit 6); any mutation of a sealed archive (flip, cut, insert, append) fails with a CryptoError and
 * releases no plaintext beyond what authenticated; time is linear in the archive.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { HEADER_LENGTH, parseHeader } from "../../lib/crypto/format.ts";
import { decryptingStream } from "../../lib/crypto/envelope.ts";
import { decrypt, encrypt, pump, split } from "../crypto/helpers.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const PASSWORD = "fuzz-envelope-password";

/** Puts back the header's 8-byte SHA-256 checksum (offset 76) over the 76 bytes before it. */
function reseal(h: Uint8Array): Uint8Array {
  const out = h.slice();
  out.set(createHash("sha256").update(out.subarray(0, 76)).digest().subarray(0, 8), 76);
  return out;
}

Deno.test("envelope: any header fields parse or fail with a CryptoError", async () => {
  const MAGIC = [0x89, 0x56, 0x49, 0x47, 0x4f, 0x45, 0x4e, 0x43];
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: HEADER_LENGTH, maxLength: HEADER_LENGTH }),
      fc.boolean(),
      async (raw, keepVersion) => {
        const h = raw.slice();
        h.set(MAGIC, 0);
        if (keepVersion) h[8] = 1;
        const outcome = await assertTyped(() => parseHeader(reseal(h)));
        assert.ok(outcome === "ok" || outcome === "crypto", outcome);
      },
    ),
    fuzzParams(500),
  );
});

Deno.test("envelope: mutated archives fail with a CryptoError, never release unauthenticated data", async () => {
  const plain = new Uint8Array(5000).map((_, i) => (i * 31) % 256);
  const sealed = await encrypt(PASSWORD, plain); // 1 KiB chunks, tiny Argon2id
  const mutation = fc.record({
    at: fc.nat({ max: sealed.length }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }),
    kind: fc.constantFrom("overwrite", "truncate", "insert", "append"),
  });
  await fc.assert(
    fc.asyncProperty(mutation, fc.integer({ min: 1, max: 3000 }), async (m, piece) => {
      let b: Uint8Array;
      if (m.kind === "truncate") b = sealed.subarray(0, m.at);
      else if (m.kind === "insert") {
        b = Uint8Array.from([...sealed.subarray(0, m.at), ...m.bytes, ...sealed.subarray(m.at)]);
      } else if (m.kind === "append") b = Uint8Array.from([...sealed, ...m.bytes]);
      else {
        b = sealed.slice();
        b.set(m.bytes.subarray(0, Math.max(0, b.length - m.at)), m.at);
      }
      const released: Uint8Array[] = [];
      const outcome = await assertTyped(async () => {
        const stream = decryptingStream(PASSWORD);
        for await (const c of ReadableStream.from(split(b, piece)).pipeThrough(stream)) released.push(c);
      });
      const same = b.length === sealed.length && b.every((x, i) => x === sealed[i]);
      assert.equal(outcome, same ? "ok" : "crypto");
      // Whatever came out before the error is a prefix of the true plaintext.
      let off = 0;
      for (const c of released) {
        assert.deepEqual(c, plain.subarray(off, off + c.length));
        off += c.length;
      }
    }),
    fuzzParams(200),
  );
});

Deno.test("envelope: decryption time is linear in the archive", async () => {
  const sealed = new Map<number, Uint8Array>();
  for (const n of [100_000, 1_000_000]) {
    sealed.set(n, await encrypt(PASSWORD, new Uint8Array(n), undefined, 65536));
  }
  await assertLinear(
    "envelope decrypt",
    (n) => sealed.get(n)!,
    (b) => pump(decryptingStream(PASSWORD), split(b as Uint8Array, 65536)),
    100_000,
    100_000,
  );
});

Deno.test("envelope: regression vectors", async () => {
  await checkVectors("envelope", (v) => decrypt(PASSWORD, v.bytes));
});
