/**
 * Opens WAL segments a few ahead of the one being applied, so a restore from a remote replica
 * overlaps request latency instead of paying it once per segment (Litestream downloads 8 at once).
 * Bodies are streams, so only their first bytes are buffered while they wait.
 */
import type { ReplicaClient, WalSegmentInfo } from "./replica_client.ts";

/** How many segments are requested ahead of the one being read. */
export const PREFETCH_DEPTH = 8;

/** Hands out the readers of `segments` in order, requesting up to `depth` of them ahead. */
export class SegmentPrefetcher {
  #pending: Promise<ReadableStream<Uint8Array>>[] = [];
  #next = 0;

  constructor(
    private readonly client: ReplicaClient,
    private readonly segments: WalSegmentInfo[],
    private readonly depth = PREFETCH_DEPTH,
  ) {}

  #fill(): void {
    while (this.#pending.length < this.depth && this.#next < this.segments.length) {
      const s = this.segments[this.#next++];
      const p = this.client.walSegmentReader({ generation: s.generation, index: s.index, offset: s.offset });
      p.catch(() => {}); // reported when its turn comes, not as an unhandled rejection now
      this.#pending.push(p);
    }
  }

  /** The reader of the next segment in order. */
  next(): Promise<ReadableStream<Uint8Array>> {
    this.#fill();
    const p = this.#pending.shift();
    if (!p) return Promise.reject(new Error("SegmentPrefetcher: no more segments"));
    this.#fill();
    return p;
  }

  /** Cancels the readers requested ahead and not used (after a failure), releasing connections. */
  async close(): Promise<void> {
    const left = this.#pending.splice(0);
    await Promise.all(left.map((p) => p.then((s) => s.cancel(), () => {})));
  }
}
