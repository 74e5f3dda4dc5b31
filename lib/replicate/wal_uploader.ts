/**
 * Ships the shadow WAL to the replica as Litestream WAL segments: each upload is the raw bytes of one
 * shadow index from the replica position to the committed end, LZ4-framed, stored under
 * `<index>_<offset>.wal.lz4`. Segments of an index are contiguous from offset 0 (the one at offset 0
 * starts with the WAL header), so a restore never meets a "missing initial wal segment" (#224, #535,
 * #805): a position is only ever advanced past bytes that were stored.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { CodecError } from "../codec/codec_error.ts";
import { lz4CompressFrameSync, lz4CompressStream, lz4DecompressStream } from "../codec/lz4/lz4.ts";
import { toVigoError } from "../errors.ts";
import { formatPos } from "../litestream/paths.ts";
import type { Pos, ReplicaClient } from "../litestream/replica_client.ts";
import type { EventSink } from "./event_log.ts";
import { fileRangeStream } from "./file_stream.ts";
import type { ShadowDir, ShadowState } from "./shadow_wal.ts";
import { frameAlign } from "../sqlite/wal_format.ts";

/** LZ4 blocks of 256 KiB: memory stays small whatever the segment size; Litestream reads any size. */
const SEGMENT_LZ4 = { blockSizeIndex: 5 } as const;
/** Segments up to this size (raw) are compressed whole in memory; about 4 s of a 1000 tx/s writer. */
const WHOLE_SEGMENT_MAX = 4 << 20;

/** The LZ4 frame of the shadow bytes `[start, end)` of `path`, read synchronously from the page cache. */
function segmentBytes(path: string, start: number, end: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const read = (into: Uint8Array, off: number) => {
      const n = readSync(fd, into, 0, into.length, start + off);
      if (n === 0) throw new Error(`${path}: ended at ${start + off}, expected ${end} bytes`);
      return n;
    };
    return lz4CompressFrameSync(read, end - start, SEGMENT_LZ4);
  } finally {
    closeSync(fd);
  }
}

/** Result of {@link resumePosition}. */
export type ResumeResult =
  | { kind: "ok"; pos: Pos; lastSnapshotAt: Date }
  | { kind: "no-snapshot" }
  | { kind: "inconsistent"; reason: string };

async function streamLength(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of stream.pipeThrough(lz4DecompressStream())) n += chunk.length;
  } catch (err) {
    if (err instanceof CodecError) throw toVigoError(err);
    throw err;
  }
  return n;
}

/**
 * Where replication of `state.generation` stands in the replica after a restart: the end of its
 * last WAL segment (decompressed length, as Litestream computes it), checked against the shadow files
 * still on disk.
 */
export async function resumePosition(
  client: ReplicaClient,
  shadow: ShadowDir,
  state: ShadowState,
): Promise<ResumeResult> {
  const generation = state.generation;
  const snaps = await client.snapshots(generation);
  if (snaps.length === 0) return { kind: "no-snapshot" };
  const lastSnapshotAt = new Date(Math.max(...snaps.map((s) => s.createdAt.getTime())));
  const segs = await client.walSegments(generation);
  let pos: Pos;
  if (segs.length === 0) {
    pos = { generation, index: snaps[snaps.length - 1].index, offset: 0 };
  } else {
    const last = segs[segs.length - 1];
    pos = {
      generation,
      index: last.index,
      offset: last.offset + await streamLength(await client.walSegmentReader(last)),
    };
  }
  if (pos.index > state.index) return { kind: "inconsistent", reason: `replica is ahead of the shadow WAL` };
  const size = pos.index === state.index
    ? state.size
    : await stat(shadow.walPath(generation, pos.index)).then((s) => s.size, () => -1);
  if (size < 0) return { kind: "inconsistent", reason: `shadow WAL index ${pos.index} is gone` };
  if (pos.offset > size) {
    return { kind: "inconsistent", reason: `replica holds more of index ${pos.index} than the shadow WAL` };
  }
  return { kind: "ok", pos, lastSnapshotAt };
}

/** Uploads shadow WAL bytes the replica does not have yet. */
export class WalUploader {
  /** Next byte to upload. */
  pos: Pos;
  /** The generation/index below which the shadow was last pruned. */
  private pruned = "";

  constructor(
    private readonly client: ReplicaClient,
    private readonly shadow: ShadowDir,
    private readonly log: EventSink,
    pos: Pos,
  ) {
    this.pos = pos;
  }

  /** Uploads everything up to the committed end of `state`; returns the number of segments written. */
  async upload(state: ShadowState): Promise<number> {
    let n = 0;
    for (;;) {
      const p = this.pos;
      if (p.generation !== state.generation || p.index > state.index) {
        throw new Error(`replica position ${formatPos(p)} does not belong to shadow index ${state.index}`);
      }
      const path = this.shadow.walPath(p.generation, p.index);
      // Earlier indices are complete files; the current one ends at its committed size.
      const end = p.index === state.index
        ? state.size
        : frameAlign((await stat(path)).size, state.header.pageSize);
      if (p.offset < end) {
        const started = performance.now();
        // A tick's segment is compressed whole in memory: a stream's reads, buffers and promises cost a
        // replicator more CPU than the compression itself (README, performance). Larger ones stream; a
        // fresh stream per attempt, as the backend's retry decorator can send the segment again.
        await this.client.writeWalSegment(
          p,
          end - p.offset <= WHOLE_SEGMENT_MAX
            ? segmentBytes(path, p.offset, end)
            : () => fileRangeStream(path, p.offset, end).pipeThrough(lz4CompressStream(SEGMENT_LZ4)),
        );
        this.log("INFO", "wal segment uploaded", {
          generation: p.generation,
          index: p.index,
          offset: p.offset,
          size: end - p.offset,
          elapsed_ms: Math.round(performance.now() - started),
        });
        this.pos = { ...p, offset: end };
        n++;
      }
      if (p.index === state.index) break;
      this.pos = { generation: p.generation, index: p.index + 1, offset: 0 };
    }
    // Once per index reached, not every tick: listing the shadow directory is most of an idle tick.
    const reached = `${this.pos.generation}/${this.pos.index}`;
    if (reached !== this.pruned) {
      await this.shadow.removeIndicesBelow(this.pos.generation, this.pos.index);
      this.pruned = reached;
    }
    return n;
  }
}
