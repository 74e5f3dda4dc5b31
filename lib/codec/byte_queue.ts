/**
 * A FIFO of byte pieces that hands out exact-length slices. The envelope streams receive pieces of
 * any size (gzip output, file reads) and must cut them into fixed-size chunks without copying more
 * than once.
 */

/** Bytes waiting to be cut into chunks. */
export class ByteQueue {
  #pieces: Uint8Array[] = [];
  #head = 0; // bytes of #pieces[0] already taken
  #length = 0;

  /** Number of bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends a piece. The queue keeps a reference: the caller must not reuse the buffer. */
  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** Removes and returns the first `n` bytes (`n` ≤ length). A view when they lie in one piece. */
  take(n: number): Uint8Array {
    if (n > this.#length) throw new RangeError(`take(${n}) from a queue of ${this.#length} bytes`);
    this.#length -= n;
    const first = this.#pieces[0];
    if (first !== undefined && first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.#pieces[0];
      const k = Math.min(n - filled, piece.length - this.#head);
      out.set(piece.subarray(this.#head, this.#head + k), filled);
      filled += k;
      this.#advance(piece, k);
    }
    return out;
  }

  #advance(piece: Uint8Array, k: number): void {
    this.#head += k;
    if (this.#head === piece.length) {
      this.#pieces.shift();
      this.#head = 0;
    }
  }
}
