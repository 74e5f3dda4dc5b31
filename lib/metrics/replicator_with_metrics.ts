/**
 * Wires a {@link ReplicationMetrics} into a replicator's options (counting client, event tap, step
 * observer) and serves it, for `backup replicate --addr`.
 */
import type { ServerConfig } from "../config/types.ts";
import { drillsDirFor } from "../drill/drill_report.ts";
import { openBackend, urlScheme } from "../backends.ts";
import { replicaClientFor } from "../litestream/backend_replica_client.ts";
import { consoleSink, type EventSink } from "../replicate/event_log.ts";
import type { ReplicatorOptions } from "../replicate/replicator_options.ts";
import type { HttpServer } from "../http/serve.ts";
import { countingClient } from "./counting_client.ts";
import { parseListenAddr } from "../net/listen_addr.ts";
import { serveMetrics } from "./metrics_server.ts";
import { ReplicationMetrics } from "./replication_metrics.ts";

/** Replicator options with metrics attached, and the server exposing them. */
export interface MeteredReplicator {
  options: ReplicatorOptions;
  server: HttpServer;
}

/** Starts serving metrics on `addr` (text from `--addr` or backup.addr; `what` names it in errors). */
export async function meteredReplicatorOptions(
  cfg: ServerConfig,
  addr: string,
  what: string,
  sink: EventSink = consoleSink,
): Promise<MeteredReplicator> {
  const backup = cfg.backup!;
  const listen = parseListenAddr(addr, what);
  const metrics = new ReplicationMetrics({
    dbPath: cfg.database.path,
    replicaName: urlScheme(backup.url),
    syncIntervalMs: backup.syncIntervalMs,
  });
  const client = countingClient(
    replicaClientFor(await openBackend(backup.url, backup.destination)),
    metrics.countOperation,
  );
  const server = await serveMetrics(listen, metrics, drillsDirFor(cfg.paths.snapshots));
  return {
    options: {
      dbPath: cfg.database.path,
      backup,
      client,
      log: metrics.tap(sink),
      observer: metrics.observer,
    },
    server,
  };
}
