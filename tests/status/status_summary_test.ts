/**
 * `backup status`'s verdict (summarize, a pure function): it reads no archive, so what it knows of the
 * newest one is its sidecar and the last drill. A newest archive without a sidecar is a problem; one the
 * last drill failed to restore is a problem and not a recoverable state (status used to answer
 * "RECOVERABLE, 1 s old" from exactly that archive, found by review).
 */
import assert from "node:assert/strict";
import { summarize } from "../../lib/status/collect_status.ts";
import { summarizeArchives } from "../../lib/status/archive_status.ts";
import { NO_REPLICATION } from "../../lib/status/replication_status.ts";
import type { ArchiveLocation, Status } from "../../lib/status/status_model.ts";
import type { DrillPathResult } from "../../lib/drill/drill_report.ts";

function location(name: string, ageMs: number, sidecar: boolean): ArchiveLocation {
  return {
    where: "/srv/vigo/snapshots",
    count: 1,
    total_bytes: 100,
    newest: {
      name,
      time: "2026-12-05T06:00:00Z",
      size: 100,
      encrypted: false,
      sidecar,
      verified_by_drill: false,
    },
    newest_age_ms: ageMs,
    dated_in_future: [],
    error: null,
  };
}

const path = (status: DrillPathResult["status"], detail: Record<string, unknown> = {}): DrillPathResult => ({
  status,
  rpo_seconds: null,
  rto_ms: null,
  message: status === "fail" ? "restore failed" : null,
  detail,
});

function status(local: ArchiveLocation, archiveDrill?: DrillPathResult): Omit<Status, "summary"> {
  return {
    version: 1,
    generated_at: "2026-12-05T06:00:01Z",
    server_root: "/srv/vigo",
    archives: { local, remote: null },
    snapshots: { crates_dir: "/srv/vigo/stacks/configcrates", resources: [], errors: [] },
    replication: NO_REPLICATION,
    drill: archiveDrill
      ? {
        path: "/srv/vigo/snapshots/drills/drill-20261205T050000Z.json",
        report: {
          version: 1,
          started_at: "2026-12-05T05:00:00Z",
          finished_at: "2026-12-05T05:00:10Z",
          ok: archiveDrill.status !== "fail",
          paths: { archive: archiveDrill, snapshot: path("not_configured"), replica: path("not_configured") },
        },
      }
      : null,
    drill_error: null,
  };
}

Deno.test("status: a sound newest archive is the recoverable state, no problem", () => {
  const s = summarize(status(location("a.tar.gz", 1000, true)));
  assert.deepEqual(s, { recoverable: true, best_age_ms: 1000, best_path: "archive", problems: [] });
});

Deno.test("status: a newest archive without a sidecar is a problem", () => {
  const s = summarize(status(location("a.tar.gz", 1000, false)));
  assert.equal(s.recoverable, true);
  assert.deepEqual(s.problems, [
    "archives: newest archive a.tar.gz (/srv/vigo/snapshots) has no .sha256 sidecar to check it by",
  ]);
});

Deno.test("status: a newest archive the last drill failed to restore is not recoverable", () => {
  const s = summarize(status(location("a.tar.gz", 1000, true), path("fail", { name: "a.tar.gz" })));
  assert.deepEqual([s.recoverable, s.best_age_ms, s.best_path], [false, null, null]);
  assert.ok(
    s.problems.includes("archives: newest archive a.tar.gz (/srv/vigo/snapshots) failed the last drill"),
  );
  // A drill that failed on an older archive says nothing against the newer one.
  const newer = summarize(status(location("b.tar.gz", 1000, true), path("fail", { name: "a.tar.gz" })));
  assert.equal(newer.best_age_ms, 1000);
  // Restored, and failed only on its age (--max-age): recoverable, the drill's failure a problem.
  const old = summarize(
    status(location("a.tar.gz", 1000, true), { ...path("fail", { name: "a.tar.gz" }), rto_ms: 61 }),
  );
  assert.deepEqual([old.recoverable, old.best_age_ms, old.best_path], [true, 1000, "archive"]);
  assert.ok(old.problems.some((p) => p.startsWith("drill: last drill FAILED")), old.problems.join("\n"));
});

Deno.test("status: an archive dated in the future is not the newest, and is a problem", () => {
  // The old state, named after a clock that ran ahead, and the archive with the newest data.
  const row = (name: string, time: string) => ({ name, time, size: 10, encrypted: false, sidecar: true });
  const future = row("vigo-backup-2031-01-01T00:00:00Z.tar.gz", "2031-01-01T00:00:00Z");
  const real = row("vigo-backup-2026-12-05T05:00:00Z.tar.gz", "2026-12-05T05:00:00Z");
  // Within the allowance (5 min): a clock a little off is no clock that ran ahead.
  const skewed = row("vigo-backup-2026-12-05T06:04:00Z.tar.gz", "2026-12-05T06:04:00Z");
  const now = new Date("2026-12-05T06:00:01Z");
  const loc = summarizeArchives("/srv/vigo/snapshots", [future, real], null, now);
  assert.deepEqual([loc.count, loc.newest?.name, loc.newest_age_ms], [2, real.name, 3_601_000]);
  assert.deepEqual(loc.dated_in_future, [{ name: future.name, time: future.time }]);
  const s = summarize(status(loc));
  assert.deepEqual([s.recoverable, s.best_age_ms, s.best_path], [true, 3_601_000, "archive"]);
  assert.equal(s.problems.length, 1);
  assert.match(
    s.problems[0],
    /^archives: vigo-backup-2031-01-01T00:00:00Z\.tar\.gz \(\/srv\/vigo\/snapshots\) is dated in the future \(2031-01-01T00:00:00Z, now 2026-12-05T06:00:01Z\): the clock was ahead when it was made, or is behind now; .*remove it by hand$/,
  );
  const near = summarizeArchives("/srv/vigo/snapshots", [skewed, real], null, now);
  assert.deepEqual([near.newest?.name, near.newest_age_ms, near.dated_in_future], [skewed.name, 0, []]);
  // Only archives dated in the future: none is a recoverable state, and the problem says why.
  const only = summarizeArchives("/srv/vigo/snapshots", [future], null, now);
  assert.deepEqual([only.count, only.newest, only.newest_age_ms], [1, null, null]);
  assert.equal(summarize(status(only)).recoverable, false);
});
