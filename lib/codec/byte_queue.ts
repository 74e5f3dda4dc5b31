/**
 * The one FIFO of byte pieces the codecs cut their input with. Input arrives in pieces of any size
 * (file reads, gzip output, network chunks) and is taken out in exact amounts — encryption segments,
 * LZ4 blocks, tar blocks — copying only when an amount spans pieces.
 */

/** Bytes waiting to be taken out in exact amounts. */
export class ByteQueue {
  #pieces: Uint8Array[] = [];
  #head = 0; // bytes of #pieces[0] already taken
  #length = 0;
  #own = new Uint8Array(0); // reused by detach()

  /** Number of bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends a piece. The queue keeps a reference: the caller must not reuse the buffer (see {@link detach}). */
  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** Removes and returns the first `n` bytes (`n` ≤ length). A view when they lie in one piece. */
  take(n: number): Uint8Array {
    this.#check(n);
    return this.takeView(n) ?? this.#copy(n, new Uint8Array(n), 0);
  }

  /** Copies the first `n` bytes (`n` ≤ length) into `dst` at `at` and removes them. */
  takeInto(n: number, dst: Uint8Array, at = 0): void {
    this.#check(n);
    this.#copy(n, dst, at);
  }

  /**
   * Removes the first `n` bytes and returns them as a view when they lie in one piece (no copy), else
   * returns null and removes nothing (use {@link take} or {@link takeInto}).
   */
  takeView(n: number): Uint8Array | null {
    this.#check(n);
    const first = this.#pieces[0];
    if (n === 0) return new Uint8Array(0);
    if (first.length - this.#head < n) return null;
    const view = first.subarray(this.#head, this.#head + n);
    this.#advance(n);
    return view;
  }

  /** Removes and returns up to `max` bytes of the first piece (a view; empty when the queue is). */
  takeSome(max: number): Uint8Array {
    const first = this.#pieces[0];
    if (first === undefined || max <= 0) return new Uint8Array(0);
    const k = Math.min(max, first.length - this.#head);
    const view = first.subarray(this.#head, this.#head + k);
    this.#advance(k);
    return view;
  }

  /** The byte `i` positions ahead, without removing anything (`i` < length). */
  peek(i: number): number {
    let at = this.#head + i;
    for (const piece of this.#pieces) {
      if (at < piece.length) return piece[at];
      at -= piece.length;
    }
    throw new RangeError(`peek(${i}) into a queue of ${this.#length} bytes`);
  }

  /** Discards up to `n` bytes, returning how many were discarded. */
  skip(n: number): number {
    const k = Math.min(n, this.#length);
    let left = k;
    while (left > 0) {
      const s = Math.min(this.#pieces[0].length - this.#head, left);
      this.#advance(s);
      left -= s;
    }
    return k;
  }

  /**
   * Moves the queued bytes into a buffer of the queue's own (reused, grown as needed), so the caller
   * may overwrite the pieces it pushed.
   */
  detach(): void {
    if (this.#length === 0) {
      this.#pieces = [];
      this.#head = 0;
      return;
    }
    let dst = this.#own;
    if (dst.length < this.#length) dst = new Uint8Array(Math.max(this.#length, dst.length * 2));
    let o = 0;
    let from = 0;
    if (dst === this.#own && this.#head === 0 && this.#pieces[0].buffer === dst.buffer) {
      // Bytes still being gathered: our part is already in place, append the new pieces only.
      o = this.#pieces[0].length;
      from = 1;
    }
    for (const [i, piece] of this.#pieces.entries()) {
      if (i < from) continue;
      // set() copies overlapping ranges of one buffer correctly (memmove), for our own leftover.
      const part = i === 0 ? piece.subarray(this.#head) : piece;
      dst.set(part, o);
      o += part.length;
    }
    this.#own = dst;
    this.#pieces = [dst.subarray(0, o)];
    this.#head = 0;
  }

  #check(n: number): void {
    if (n > this.#length) throw new RangeError(`take(${n}) from a queue of ${this.#length} bytes`);
  }

  #copy(n: number, dst: Uint8Array, at: number): Uint8Array {
    let filled = 0;
    while (filled < n) {
      const piece = this.#pieces[0];
      const k = Math.min(n - filled, piece.length - this.#head);
      dst.set(piece.subarray(this.#head, this.#head + k), at + filled);
      filled += k;
      this.#advance(k);
    }
    return dst;
  }

  #advance(k: number): void {
    this.#length -= k;
    this.#head += k;
    if (this.#head === this.#pieces[0].length) {
      this.#pieces.shift();
      this.#head = 0;
    }
  }
}
