/** A drill report as `backup drill` writes it (docs/drill-report.md), for tests that read one. */
import type { DrillReport } from "../../lib/drill/drill_report.ts";

/** A report finished `agoMs` ago; `replicaFails` makes the replica path (and the drill) fail. */
export function drillReport(agoMs: number, replicaFails: boolean): DrillReport {
  const started = new Date(Date.now() - agoMs - 4000);
  return {
    version: 1,
    started_at: started.toISOString(),
    finished_at: new Date(Date.now() - agoMs).toISOString(),
    ok: !replicaFails,
    paths: {
      archive: { status: "pass", rpo_seconds: 3600, rto_ms: 812, message: null, detail: {} },
      snapshot: {
        status: "not_configured",
        rpo_seconds: null,
        rto_ms: null,
        message: "no configcrate with a backup or db_backup resource",
        detail: {},
      },
      replica: replicaFails
        ? {
          status: "fail",
          rpo_seconds: 1.5,
          rto_ms: 430,
          message: "restored database lacks 12 rows the live one has",
          detail: {},
        }
        : { status: "pass", rpo_seconds: 1.5, rto_ms: 430, message: null, detail: {} },
    },
  };
}
