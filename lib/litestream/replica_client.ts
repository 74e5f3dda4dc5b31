/**
 * The Litestream v0.3 replica layout as operations on a generation/snapshot/WAL-segment tree,
 * implemented once over any {@link Backend}. Keys (relative to the backend root):
 *
 *   generations/<16 hex>/snapshots/<%08x index>.snapshot.lz4
 *   generations/<16 hex>/wal/<%08x index>_<%08x offset>.wal.lz4
 *
 * Bodies passed to and returned from these methods are the stored bytes, i.e. already LZ4-framed;
 * compression is the caller's job, as in Litestream.
 */
import type { Backend, PutBody } from "../backend/backend.ts";

/** A position in a generation's WAL history. */
export interface Pos {
  generation: string;
  /** WAL index (incremented whenever the WAL restarts). */
  index: number;
  /** Byte offset within that WAL file. */
  offset: number;
}

/** A stored snapshot. */
export interface SnapshotInfo {
  generation: string;
  index: number;
  size: number;
  createdAt: Date;
}

/** A stored WAL segment. */
export interface WalSegmentInfo {
  generation: string;
  index: number;
  offset: number;
  size: number;
  createdAt: Date;
}

/** Litestream's ReplicaClient, over one backend. */
export interface ReplicaClient {
  readonly backend: Backend;
  /** Generation IDs present, sorted. */
  generations(): Promise<string[]>;
  deleteGeneration(generation: string): Promise<void>;
  /** Snapshots of a generation, by ascending index. */
  snapshots(generation: string): Promise<SnapshotInfo[]>;
  writeSnapshot(
    generation: string,
    index: number,
    body: PutBody,
  ): Promise<void>;
  deleteSnapshot(generation: string, index: number): Promise<void>;
  snapshotReader(generation: string, index: number): Promise<ReadableStream<Uint8Array>>;
  /** WAL segments of a generation, by ascending (index, offset). */
  walSegments(generation: string): Promise<WalSegmentInfo[]>;
  writeWalSegment(pos: Pos, body: PutBody): Promise<void>;
  deleteWalSegments(positions: Pos[]): Promise<void>;
  walSegmentReader(pos: Pos): Promise<ReadableStream<Uint8Array>>;
}
