/**
 * {@link ReplicaClient} over any {@link Backend}: the Litestream v0.3 layout is only key names, so
 * one implementation serves file, S3, GCS and SFTP. Objects whose names Litestream would not parse
 * (temp files, strays) are skipped, as Litestream skips them.
 */
import type { Backend, PutBody } from "../backend/backend.ts";
import type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from "./replica_client.ts";
import {
  generationPath,
  GENERATIONS_DIR,
  parseReplicaKey,
  snapshotKey,
  snapshotsDir,
  walDir,
  walSegmentKey,
} from "./paths.ts";

class BackendReplicaClient implements ReplicaClient {
  constructor(readonly backend: Backend) {}

  async generations(): Promise<string[]> {
    const seen = new Set<string>();
    for await (const obj of this.backend.list(`${GENERATIONS_DIR}/`)) {
      const parsed = parseReplicaKey(obj.key);
      if (parsed) seen.add(parsed.generation);
    }
    return [...seen].sort();
  }

  async deleteGeneration(generation: string): Promise<void> {
    const keys: string[] = [];
    for await (const obj of this.backend.list(`${generationPath(generation)}/`)) keys.push(obj.key);
    if (keys.length > 0) await this.backend.delete(keys);
  }

  async snapshots(generation: string): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    for await (const obj of this.backend.list(`${snapshotsDir(generation)}/`)) {
      const p = parseReplicaKey(obj.key);
      if (p?.kind === "snapshot" && p.generation === generation) {
        out.push({ generation, index: p.index, size: obj.size, createdAt: obj.mtime });
      }
    }
    return out.sort((a, b) => a.index - b.index);
  }

  async writeSnapshot(
    generation: string,
    index: number,
    body: PutBody,
  ): Promise<void> {
    await this.backend.put(snapshotKey(generation, index), body);
  }

  async deleteSnapshot(generation: string, index: number): Promise<void> {
    await this.backend.delete([snapshotKey(generation, index)]);
  }

  snapshotReader(generation: string, index: number): Promise<ReadableStream<Uint8Array>> {
    return this.backend.get(snapshotKey(generation, index));
  }

  async walSegments(generation: string): Promise<WalSegmentInfo[]> {
    const out: WalSegmentInfo[] = [];
    for await (const obj of this.backend.list(`${walDir(generation)}/`)) {
      const p = parseReplicaKey(obj.key);
      if (p?.kind === "wal" && p.generation === generation) {
        out.push({ generation, index: p.index, offset: p.offset, size: obj.size, createdAt: obj.mtime });
      }
    }
    return out.sort((a, b) => a.index - b.index || a.offset - b.offset);
  }

  async writeWalSegment(pos: Pos, body: PutBody): Promise<void> {
    await this.backend.put(walSegmentKey(pos.generation, pos.index, pos.offset), body);
  }

  async deleteWalSegments(positions: Pos[]): Promise<void> {
    if (positions.length === 0) return;
    await this.backend.delete(positions.map((p) => walSegmentKey(p.generation, p.index, p.offset)));
  }

  walSegmentReader(pos: Pos): Promise<ReadableStream<Uint8Array>> {
    return this.backend.get(walSegmentKey(pos.generation, pos.index, pos.offset));
  }
}

/** The Litestream replica stored on `backend` (keys relative to the backend root). */
export function replicaClientFor(backend: Backend): ReplicaClient {
  return new BackendReplicaClient(backend);
}
