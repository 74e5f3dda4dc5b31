/**
 * Every single-bit flip is rejected: exhaustively over a one-chunk archive (header, ciphertext, tag),
 * and over every tag bit plus a spread of body bits of a three-chunk archive. Each rejection must be a
 * CryptoError naming the right check, and must come before any plaintext of the damaged part.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { CryptoError } from "../../lib/errors.ts";
import { decryptingStream } from "../../lib/crypto/envelope.ts";
import { concat, encrypt, split } from "./helpers.ts";

const PW = "correct horse battery staple";
const HDR = 84;
const SEG = 1024 + 16;

/** Decrypts; returns the plaintext released before the error and the error (which must exist). */
async function failure(sealed: Uint8Array): Promise<{ released: Uint8Array; message: string }> {
  const released: Uint8Array[] = [];
  try {
    for await (const c of ReadableStream.from(split(sealed, 700)).pipeThrough(decryptingStream(PW))) {
      released.push(c);
    }
  } catch (err) {
    ok(err instanceof CryptoError, `not a CryptoError: ${err}`);
    return { released: concat(released), message: err.message };
  }
  throw new Error("a damaged archive decrypted without error");
}

function flipped(sealed: Uint8Array, bit: number): Uint8Array {
  const copy = sealed.slice();
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

/** Which check must catch a flip in header byte `i`. */
function expectedHeaderCheck(i: number): RegExp {
  if (i < 8) return /^not an encrypted vigocli archive \(bad magic\)$/;
  if (i === 8) return /^unsupported encrypted-archive version \d+$/;
  return /^encrypted archive header damaged \(checksum mismatch\)$/;
}

Deno.test("every bit flip in a one-chunk archive (header, ciphertext, tag) is rejected", async () => {
  const plain = new TextEncoder().encode("manifest.json and a little database, 50 bytes.....");
  const sealed = await encrypt(PW, plain);
  assertEquals(sealed.length, HDR + plain.length + 16);
  for (let bit = 0; bit < sealed.length * 8; bit++) {
    const { released, message } = await failure(flipped(sealed, bit));
    const byte = bit >> 3;
    const want = byte < HDR ? expectedHeaderCheck(byte) : /^chunk 0 \(the last\) failed authentication/;
    ok(want.test(message), `bit ${bit}: ${message}`);
    assertEquals(released.length, 0, `bit ${bit} released plaintext`);
  }
});

Deno.test("every tag bit and a spread of body bits of a three-chunk archive are rejected", async () => {
  const plain = crypto.getRandomValues(new Uint8Array(2 * 1024 + 300));
  const sealed = await encrypt(PW, plain);
  const bits: number[] = [];
  for (let chunk = 0; chunk < 3; chunk++) {
    const start = HDR + chunk * SEG;
    const end = Math.min(sealed.length, start + SEG);
    for (let b = (end - 16) * 8; b < end * 8; b++) bits.push(b); // the whole tag
    for (let b = start * 8; b < (end - 16) * 8; b += 61) bits.push(b); // body, every 61st bit
  }
  for (const bit of bits) {
    const chunk = Math.floor((bit / 8 - HDR) / SEG);
    const { released, message } = await failure(flipped(sealed, bit));
    ok(
      new RegExp(`^chunk ${chunk} (\\(the last\\) )?failed authentication`).test(message),
      `bit ${bit}: ${message}`,
    );
    assertEquals(
      released,
      plain.subarray(0, chunk * 1024),
      `bit ${bit}: released plaintext of the damaged chunk`,
    );
  }
});

function withChecksum(copy: Uint8Array): Uint8Array {
  copy.set(createHash("sha256").update(copy.subarray(0, 76)).digest().subarray(0, 8), 76);
  return copy;
}

Deno.test("a header altered with its checksum recomputed fails the MAC (reported as a wrong password)", async () => {
  const sealed = await encrypt(PW, new Uint8Array(10));
  // chunk exponent 10→11, m 64→192, t 1→3, p 1→3, salt, nonce prefix, MAC: all still in range
  for (
    const [byte, mask] of [[10, 1], [15, 0x80], [19, 2], [23, 2], [24, 1], [39, 0x80], [40, 1], [43, 4], [
      44,
      1,
    ], [75, 0x80]]
  ) {
    const copy = sealed.slice();
    copy[byte] ^= mask;
    const { message } = await failure(withChecksum(copy));
    assertEquals(message, "wrong password (header authentication failed)", `byte ${byte}`);
  }
});

Deno.test("out-of-range header fields with a valid checksum are refused before key derivation", async () => {
  const sealed = await encrypt(PW, new Uint8Array(10));
  const cases: [number, number, RegExp][] = [
    [9, 2, /unknown KDF 3/],
    [10, 0xff, /chunk size exponent 245 outside 10..24/],
    [11, 1, /reserved byte is not zero/],
    [13, 0x40, /Argon2id memory 4194368 KiB outside/], // would need 4 GiB
    [19, 0x80, /Argon2id iterations 129 outside 1..64/],
    [23, 0x80, /Argon2id parallelism 129 outside 1..64/],
  ];
  for (const [byte, mask, re] of cases) {
    const copy = sealed.slice();
    copy[byte] ^= mask;
    const { message } = await failure(withChecksum(copy));
    ok(/^encrypted archive header invalid: /.test(message) && re.test(message), `byte ${byte}: ${message}`);
  }
});
