/** What retention keeps and prunes of a replica (lib/replicate/retention.ts). */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { planRetention } from "../../lib/replicate/retention.ts";

Deno.test("retention: keeps the current generation, prunes before the oldest retained snapshot", () => {
  const now = new Date("2026-01-31T00:00:00Z");
  const day = 86_400_000;
  const snap = (generation: string, index: number, daysAgo: number) => ({
    generation,
    index,
    size: 1,
    createdAt: new Date(now.getTime() - daysAgo * day),
  });
  const cur = "bbbbbbbbbbbbbbbb";
  const old = "aaaaaaaaaaaaaaaa";
  const plan = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 20), snap(cur, 4, 5), snap(cur, 9, 1)],
    current: cur,
    currentIndex: 12,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(plan, {
    needSnapshot: false,
    deleteGenerations: [old],
    deleteBefore: [{ generation: cur, index: 4 }],
  });

  // No snapshot of the current generation inside the window, the newest at the current WAL index (an
  // idle database keeps its index, and an index is snapshotted once): that one stays the start, older
  // generations still go.
  const idle = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 30), snap(cur, 3, 20)],
    current: cur,
    currentIndex: 3,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(idle, {
    needSnapshot: false,
    deleteGenerations: [old],
    deleteBefore: [{ generation: cur, index: 3 }],
  });

  // The same, but the database has moved on since (index 7): snapshot first, delete nothing yet, so the
  // WAL below a fresh snapshot goes then (retention shorter than snapshot_interval).
  const busy = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 30), snap(cur, 3, 20)],
    current: cur,
    currentIndex: 7,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(busy, { needSnapshot: true, deleteGenerations: [], deleteBefore: [] });

  // No snapshot of the current generation at all: snapshot first, delete nothing yet.
  const none = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40)],
    current: cur,
    currentIndex: 0,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(none, { needSnapshot: true, deleteGenerations: [], deleteBefore: [] });
});
