/**
 * The replicator's `/metrics` (Prometheus text) and `/healthz` (200 while replication is current
 * within 3 sync intervals, else 503) endpoints.
 */
import { type DrillReport, readLatestDrillReport } from "../drill/drill_report.ts";
import { type HttpServer, serveHttp } from "../http/serve.ts";
import type { ListenAddr } from "../net/listen_addr.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus_text.ts";
import { HEALTHY_INTERVALS, type ReplicationMetrics } from "./replication_metrics.ts";

/** Serves `metrics` on `addr`; `drillsDir` is where the newest drill report is read per scrape. */
export function serveMetrics(
  addr: ListenAddr,
  metrics: ReplicationMetrics,
  drillsDir?: string,
): Promise<HttpServer> {
  return serveHttp(addr, async (req) => {
    if (req.path === "/metrics") {
      // A malformed report must not take the replication metrics down with it.
      const drill: DrillReport | null = drillsDir
        ? await readLatestDrillReport(drillsDir).then((d) => d?.report ?? null, () => null)
        : null;
      return {
        status: 200,
        contentType: PROMETHEUS_CONTENT_TYPE,
        body: renderPrometheus(await metrics.families(drill)),
      };
    }
    if (req.path === "/healthz") {
      const lag = metrics.lagSeconds().toFixed(3);
      const limit = (HEALTHY_INTERVALS * metrics.opts.syncIntervalMs / 1000).toFixed(3);
      if (metrics.healthy()) return { status: 200, body: `ok: lag ${lag}s within ${limit}s\n` };
      // Before the first successful sync the lag counts from the start and may still be within the limit.
      return metrics.everSynced()
        ? { status: 503, body: `not current: lag ${lag}s exceeds ${limit}s\n` }
        : { status: 503, body: `not current: no sync has succeeded yet (started ${lag}s ago)\n` };
    }
    return { status: 404, body: "not found: try /metrics or /healthz\n" };
  });
}
