/**
 * A {@link ReplicaClient} that counts its operations by Litestream's names (GET, PUT, DELETE, LIST),
 * for `litestream_replica_operation_total`. Wraps the real client; changes nothing else.
 */
import type { ReplicaClient } from "../litestream/replica_client.ts";

/** Litestream's operation label values. */
export type ReplicaOperation = "GET" | "PUT" | "DELETE" | "LIST";

/** Receives one count per operation started. */
export type OperationCounter = (op: ReplicaOperation) => void;

/** Wraps `client` so that every call is counted by `count` before it runs. */
export function countingClient(client: ReplicaClient, count: OperationCounter): ReplicaClient {
  return {
    backend: client.backend,
    generations: () => (count("LIST"), client.generations()),
    deleteGeneration: (g) => (count("DELETE"), client.deleteGeneration(g)),
    snapshots: (g) => (count("LIST"), client.snapshots(g)),
    writeSnapshot: (g, i, body) => (count("PUT"), client.writeSnapshot(g, i, body)),
    deleteSnapshot: (g, i) => (count("DELETE"), client.deleteSnapshot(g, i)),
    snapshotReader: (g, i) => (count("GET"), client.snapshotReader(g, i)),
    walSegments: (g) => (count("LIST"), client.walSegments(g)),
    writeWalSegment: (p, body) => (count("PUT"), client.writeWalSegment(p, body)),
    deleteWalSegments: (ps) => (count("DELETE"), client.deleteWalSegments(ps)),
    walSegmentReader: (p) => (count("GET"), client.walSegmentReader(p)),
  };
}
