/** The replication part of `backup status`: the replica's own listing plus a live replicator's view. */
import { spareTempsInListings } from "../backend/backend.ts";
import { openBackend } from "../backends.ts";
import type { BackupConfig } from "../config/types.ts";
import { toVigoError } from "../errors.ts";
import { replicaClientFor } from "../litestream/backend_replica_client.ts";
import { listReplica } from "../litestream/replica_list.ts";
import { formatHostPort, parseListenAddr } from "../net/listen_addr.ts";
import { scrapeLive } from "./metrics_scrape.ts";
import type { ReplicationStatus } from "./status_model.ts";

/** Not configured: no backup.url. */
export const NO_REPLICATION: ReplicationStatus = {
  url: null,
  generations: 0,
  latest_generation: null,
  newest_position: null,
  updated_at: null,
  lag_ms: null,
  live: null,
  error: null,
};

/** Where to reach a replicator listening on `addr` (a wildcard address is reached on loopback). */
function metricsBase(addr: string): string {
  const a = parseListenAddr(addr, "backup.addr");
  const host = a.host === "0.0.0.0" || a.host === "" ? "127.0.0.1" : a.host === "::" ? "::1" : a.host;
  return `http://${formatHostPort({ host, port: a.port })}`;
}

/** Replica listing and, with backup.addr, the running replicator's metrics. */
export async function replicationStatus(
  backup: BackupConfig | undefined,
  now: Date,
): Promise<ReplicationStatus> {
  if (!backup?.url) return NO_REPLICATION;
  const st: ReplicationStatus = { ...NO_REPLICATION, url: backup.url };
  const live = backup.addr ? liveStatus(backup.addr) : Promise.resolve(null);
  try {
    const backend = await openBackend(backup.url, backup.destination);
    spareTempsInListings(backend);
    try {
      const s = await listReplica(replicaClientFor(backend));
      st.url = s.url;
      st.generations = s.generations.length;
      st.latest_generation = s.latestGeneration;
      const g = s.generations.find((x) => x.generation === s.latestGeneration);
      if (g) {
        const lastSnap = g.snapshots.at(-1);
        st.newest_position = g.walLast ?? (lastSnap ? { index: lastSnap.index, offset: 0 } : null);
        st.updated_at = g.updatedAt?.toISOString() ?? null;
        if (g.updatedAt) st.lag_ms = Math.max(0, now.getTime() - g.updatedAt.getTime());
      }
    } finally {
      await backend.close();
    }
  } catch (err) {
    st.error = toVigoError(err).message;
  }
  st.live = await live;
  // A replicator that answers knows better: an idle database uploads nothing, yet is current.
  if (st.live?.reachable && st.live.lag_ms !== null) st.lag_ms = st.live.lag_ms;
  return st;
}

async function liveStatus(addr: string): Promise<ReplicationStatus["live"]> {
  let base = addr;
  try {
    base = metricsBase(addr);
    return { ...(await scrapeLive(base)), reachable: true };
  } catch (err) {
    return { url: base, reachable: false, error: (err as Error)?.message ?? String(err) };
  }
}
