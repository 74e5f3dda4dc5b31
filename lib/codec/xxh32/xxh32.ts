/**
 * xxHash32 (seed 0 by default), incremental, as the LZ4 frame format uses it for its header,
 * block and content checksums. Pure TypeScript on 32-bit integer arithmetic (`Math.imul`).
 */

import { LITTLE_ENDIAN_HOST } from "../host_endian.ts";

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/** An incremental xxHash32 computation. */
export class Xxh32 {
  #v1: number;
  #v2: number;
  #v3: number;
  #v4: number;
  #seed: number;
  #total = 0;
  #buf = new Uint8Array(16);
  #bufLen = 0;

  constructor(seed = 0) {
    this.#seed = seed | 0;
    this.#v1 = (this.#seed + P1 + P2) | 0;
    this.#v2 = (this.#seed + P2) | 0;
    this.#v3 = this.#seed;
    this.#v4 = (this.#seed - P1) | 0;
  }

  /** Adds `data` to the hash. */
  update(data: Uint8Array): this {
    let i = 0;
    const n = data.length;
    this.#total += n;
    if (this.#bufLen > 0) {
      const take = Math.min(16 - this.#bufLen, n);
      this.#buf.set(data.subarray(0, take), this.#bufLen);
      this.#bufLen += take;
      i = take;
      if (this.#bufLen < 16) return this;
      this.#stripes(this.#buf, 0, 16);
      this.#bufLen = 0;
    }
    const whole = i + ((n - i) & ~15);
    if (whole > i) this.#stripes(data, i, whole);
    if (whole < n) {
      this.#buf.set(data.subarray(whole), 0);
      this.#bufLen = n - whole;
    }
    return this;
  }

  // The hot loop: 16-byte stripes into four accumulators. Aligned input is read as 32-bit words
  // (2.3 → 4.4 GB/s under Deno, 1.9 → 7.1 GB/s under Bun, on 256 KiB blocks; as fast as hash-wasm's
  // WASM xxhash32 without its async set-up); unaligned input byte by byte.
  #stripes(b: Uint8Array, start: number, end: number): void {
    let v1 = this.#v1, v2 = this.#v2, v3 = this.#v3, v4 = this.#v4;
    const at = b.byteOffset + start;
    if (LITTLE_ENDIAN_HOST && (at & 3) === 0) {
      const w = new Int32Array(b.buffer, at, (end - start) >>> 2);
      for (let i = 0; i < w.length; i += 4) {
        v1 = Math.imul(rotl((v1 + Math.imul(w[i], P2)) | 0, 13), P1);
        v2 = Math.imul(rotl((v2 + Math.imul(w[i + 1], P2)) | 0, 13), P1);
        v3 = Math.imul(rotl((v3 + Math.imul(w[i + 2], P2)) | 0, 13), P1);
        v4 = Math.imul(rotl((v4 + Math.imul(w[i + 3], P2)) | 0, 13), P1);
      }
      this.#v1 = v1;
      this.#v2 = v2;
      this.#v3 = v3;
      this.#v4 = v4;
      return;
    }
    for (let i = start; i < end; i += 16) {
      v1 = Math.imul(rotl((v1 + Math.imul(read32(b, i), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(read32(b, i + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(read32(b, i + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(read32(b, i + 12), P2)) | 0, 13), P1);
    }
    this.#v1 = v1;
    this.#v2 = v2;
    this.#v3 = v3;
    this.#v4 = v4;
  }

  /** The hash of everything added so far, as an unsigned 32-bit integer. */
  digest(): number {
    let h: number;
    if (this.#total >= 16) {
      h = (rotl(this.#v1, 1) + rotl(this.#v2, 7) + rotl(this.#v3, 12) + rotl(this.#v4, 18)) | 0;
    } else {
      h = (this.#seed + P5) | 0;
    }
    h = (h + this.#total) | 0;
    const b = this.#buf;
    let i = 0;
    for (; i + 4 <= this.#bufLen; i += 4) {
      h = Math.imul(rotl((h + Math.imul(read32(b, i), P3)) | 0, 17), P4);
    }
    for (; i < this.#bufLen; i++) {
      h = Math.imul(rotl((h + Math.imul(b[i], P5)) | 0, 11), P1);
    }
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  }
}

/** xxHash32 of one buffer. */
export function xxh32(data: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}
