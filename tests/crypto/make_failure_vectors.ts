/**
 * Regenerates tests/vectors/encryption/fail/*.json: inputs every reader must reject, each stating its
 * failure kind, error class, exit code and message (age's testkit style). They are derived from the
 * valid vectors by the independent reference implementation, never by lib/crypto. Run by hand only when
 * the format changes: `deno run -A tests/crypto/make_failure_vectors.ts`; failure_vectors_test.ts reads
 * them as data.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { refHeader, refKeys, type RefParams, refSealChunk } from "./reference.ts";
import { concat, hex, unhex } from "./helpers.ts";

interface Valid {
  password: string;
  argon2id: { m: number; t: number; p: number };
  chunk_exponent: number;
  salt: string;
  nonce_prefix: string;
  ciphertext: string;
}

const HEADER = 84;
const TAG = 16;
const load = (name: string): Valid =>
  JSON.parse(Deno.readTextFileSync(new URL(`../vectors/encryption/${name}`, import.meta.url)));
const oneByte = load("one_byte.json");
const three = load("three_chunks.json");
const exact = load("exact_chunk.json");
const bytesOf = (v: Valid) => unhex(v.ciphertext);
/** Chunk `i` of a three_chunks-like file (1 KiB chunks: 1040 bytes sealed). */
const chunkAt = (b: Uint8Array, i: number, size = 1024 + TAG) =>
  b.slice(HEADER + i * size, HEADER + (i + 1) * size);

/** A header field changed and the unkeyed checksum recomputed, so only the MAC can catch it. */
function withField(b: Uint8Array, at: number, value: number[]): Uint8Array {
  const out = b.slice();
  out.set(value, at);
  out.set(sha256(out.subarray(0, 76)).subarray(0, 8), 76);
  return out;
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at] ^= 0x01;
  return out;
}

function params(v: Valid): RefParams {
  return {
    password: v.password,
    ...v.argon2id,
    chunkExponent: v.chunk_exponent,
    salt: unhex(v.salt),
    noncePrefix: unhex(v.nonce_prefix),
  };
}

/** exact_chunk's one chunk sealed as non-final, then an empty final chunk: the non-canonical encoding. */
function emptyFinalChunk(): Uint8Array {
  const p = params(exact);
  const keys = refKeys(p);
  const plain = Uint8Array.from({ length: 1024 }, (_, j) => j % 251);
  return concat([
    refHeader(p, keys),
    refSealChunk(keys.payloadKey, p.noncePrefix, 0, false, plain),
    refSealChunk(keys.payloadKey, p.noncePrefix, 1, true, new Uint8Array(0)),
  ]);
}

interface Case {
  file: string;
  expect: "header failure" | "payload failure" | "truncated" | "not encrypted";
  comment: string;
  message: string;
  password: string;
  input: Uint8Array;
}

const tb = bytesOf(three);
const cases: Case[] = [
  {
    file: "bad_magic.json",
    expect: "not encrypted",
    comment: "one_byte.json with the second magic byte changed",
    message: "not an encrypted vigocli archive (bad magic)",
    password: oneByte.password,
    input: flip(bytesOf(oneByte), 1),
  },
  {
    file: "header_truncated.json",
    expect: "truncated",
    comment: "the first 50 bytes of one_byte.json: the input ends inside the 84-byte header",
    message: "encrypted archive truncated inside the header",
    password: oneByte.password,
    input: bytesOf(oneByte).slice(0, 50),
  },
  {
    file: "unsupported_version.json",
    expect: "header failure",
    comment: "one_byte.json with format version 2 (checked before the checksum)",
    message: "unsupported encrypted-archive version 2",
    password: oneByte.password,
    input: (() => {
      const b = bytesOf(oneByte);
      b[8] = 2;
      return b;
    })(),
  },
  {
    file: "header_checksum.json",
    expect: "header failure",
    comment: "one_byte.json with one salt bit flipped: the header checksum no longer matches",
    message: "encrypted archive header damaged (checksum mismatch)",
    password: oneByte.password,
    input: flip(bytesOf(oneByte), 24),
  },
  {
    file: "unknown_kdf.json",
    expect: "header failure",
    comment: "one_byte.json with KDF id 2, checksum recomputed",
    message: "encrypted archive header invalid: unknown KDF 2",
    password: oneByte.password,
    input: withField(bytesOf(oneByte), 9, [2]),
  },
  {
    file: "reserved_byte.json",
    expect: "header failure",
    comment: "one_byte.json with the reserved byte set, checksum recomputed",
    message: "encrypted archive header invalid: reserved byte is not zero",
    password: oneByte.password,
    input: withField(bytesOf(oneByte), 11, [1]),
  },
  {
    file: "argon2_memory_too_large.json",
    expect: "header failure",
    comment: "one_byte.json asking Argon2id for 4 TiB (m = 0xffffffff KiB), checksum recomputed: refused " +
      "before any key derivation",
    message: "encrypted archive header invalid: Argon2id memory 4294967295 KiB outside 8..1048576",
    password: oneByte.password,
    input: withField(bytesOf(oneByte), 12, [0xff, 0xff, 0xff, 0xff]),
  },
  {
    file: "wrong_password.json",
    expect: "header failure",
    comment: "one_byte.json read with another password",
    message: "wrong password (header authentication failed)",
    password: "incorrect horse battery staple",
    input: bytesOf(oneByte),
  },
  {
    file: "tampered_iterations.json",
    expect: "header failure",
    comment: "one_byte.json with Argon2id t = 2 and the checksum recomputed: only the MAC catches it, and " +
      "it reads as a wrong password",
    message: "wrong password (header authentication failed)",
    password: oneByte.password,
    input: withField(bytesOf(oneByte), 16, [0, 0, 0, 2]),
  },
  {
    file: "payload_bit_flip.json",
    expect: "payload failure",
    comment: "three_chunks.json with one bit of chunk 0's ciphertext flipped",
    message: "chunk 0 failed authentication (archive corrupted or tampered with)",
    password: three.password,
    input: flip(tb, HEADER + 100),
  },
  {
    file: "chunks_swapped.json",
    expect: "payload failure",
    comment: "three_chunks.json with chunks 0 and 1 swapped (the nonce counter catches reordering)",
    message: "chunk 0 failed authentication (archive corrupted or tampered with)",
    password: three.password,
    input: concat([tb.slice(0, HEADER), chunkAt(tb, 1), chunkAt(tb, 0), tb.slice(HEADER + 2 * 1040)]),
  },
  {
    file: "no_chunk.json",
    expect: "truncated",
    comment: "the 84-byte header of one_byte.json and nothing after it",
    message: "truncated: no chunk after the header",
    password: oneByte.password,
    input: bytesOf(oneByte).slice(0, HEADER),
  },
  {
    file: "truncated_inside_tag.json",
    expect: "truncated",
    comment: "one_byte.json cut 10 bytes into chunk 0 (too short to hold a tag)",
    message: "truncated inside chunk 0",
    password: oneByte.password,
    input: bytesOf(oneByte).slice(0, HEADER + 10),
  },
  {
    file: "truncated_at_chunk_boundary.json",
    expect: "truncated",
    comment: "three_chunks.json without its last chunk: chunk 1 was sealed as non-final",
    message: "truncated: archive ends after chunk 1, final chunk missing",
    password: three.password,
    input: tb.slice(0, HEADER + 2 * 1040),
  },
  {
    file: "truncated_last_chunk.json",
    expect: "truncated",
    comment: "three_chunks.json with the last byte cut off (indistinguishable from damage, by design)",
    message: "chunk 2 (the last) failed authentication",
    password: three.password,
    input: tb.slice(0, tb.length - 1),
  },
  {
    file: "trailing_data.json",
    expect: "payload failure",
    comment: "exact_chunk.json (one full-size final chunk) with 20 zero bytes appended",
    message: "trailing data after the final chunk 0",
    password: exact.password,
    input: concat([bytesOf(exact), new Uint8Array(20)]),
  },
  {
    file: "empty_final_chunk.json",
    expect: "payload failure",
    comment: "exact_chunk.json's plaintext sealed as a non-final chunk 0 and an empty final chunk 1: " +
      "authentic, but not the one canonical encoding",
    message: "chunk 1: empty final chunk (non-canonical archive)",
    password: exact.password,
    input: emptyFinalChunk(),
  },
];

const dir = new URL("../vectors/encryption/fail/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
for (const c of cases) {
  const vector = {
    expect: c.expect,
    error: "CryptoError",
    exit_code: 6,
    message: c.message,
    comment: `${c.comment}. Tiny Argon2id parameters for test vectors only.`,
    password: c.password,
    input: hex(c.input),
  };
  await Deno.writeTextFile(new URL(c.file, dir), JSON.stringify(vector, null, 2) + "\n");
  console.log(`wrote fail/${c.file}`);
}
