/** The drill's pure decisions: max age, the earlier restore point, the replica's RPO, the tallies. */
import assert from "node:assert/strict";
import { ageProblem, pickEarlierTimestamp, replicaRpoSeconds } from "../../lib/drill/drill_policy.ts";
import { compareCounts } from "../../lib/drill/db_facts.ts";
import { newTally, tallyFile } from "../../lib/drill/file_compare.ts";

Deno.test("max age: none without a limit, at the limit, and a message beyond it", () => {
  assert.equal(ageProblem("newest archive a", 10_000, undefined), null);
  assert.equal(ageProblem("newest archive a", 10_000, 10_000), null);
  assert.equal(
    ageProblem("newest archive a", 90_000_000, 3_600_000),
    "newest archive a is 25h0m0s old, more than the max age 1h0m0s",
  );
});

Deno.test("earlier restore point: strictly after the first snapshot, at most the latest state", () => {
  const from = new Date("2026-12-01T00:00:00Z"), to = new Date("2026-12-01T00:00:10Z");
  for (const r of [0, 0.5, 0.999999]) {
    const t = pickEarlierTimestamp(from, to, () => r).getTime();
    assert.ok(t > from.getTime() && t <= to.getTime(), String(r));
  }
  assert.equal(pickEarlierTimestamp(to, to, () => 0.5).getTime(), to.getTime());
});

Deno.test("replica RPO: 0 when every live row is there, else the age of the newest replicated state", () => {
  const same = compareCounts({ t: 3 }, { t: 3 });
  assert.equal(replicaRpoSeconds(same, new Date(0), new Date(60_000)), 0);
  const behind = compareCounts({ t: 3, gone: 1 }, { t: 5, fresh: 2 });
  assert.equal(behind.rows_missing, 4);
  assert.deepEqual(behind.differing, ["fresh", "gone", "t"]);
  assert.deepEqual(behind.tables[0], { table: "fresh", restored: null, live: 2 });
  assert.equal(replicaRpoSeconds(behind, new Date(0), new Date(61_500)), 61.5);
});

Deno.test("file tally: same, changed, missing; names at most 20", () => {
  const t = newTally();
  tallyFile(t, "a", "h1", "h1");
  tallyFile(t, "b", "h1", "h2");
  for (let i = 0; i < 30; i++) tallyFile(t, `gone${i}`, "h", null);
  assert.deepEqual([t.checked, t.same, t.changed, t.missing_live, t.differing.length], [32, 1, 1, 30, 20]);
  assert.equal(t.differing[0], "b");
});
