/** The pure restore decisions (lib/litestream/restore_plan.ts) on synthetic listings. */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  chooseGeneration,
  type GenerationListing,
  planRestore,
  segmentsByIndex,
} from "../../lib/litestream/restore_plan.ts";
import type { WalSegmentInfo } from "../../lib/litestream/replica_client.ts";
import { BadInputError, NotFoundError } from "../../lib/errors.ts";

const T = (min: number) => new Date(Date.UTC(2026, 0, 1, 0, min));
const snap = (generation: string, index: number, min: number) => ({
  generation,
  index,
  size: 1,
  createdAt: T(min),
});
const seg = (generation: string, index: number, offset: number, min: number) => ({
  generation,
  index,
  offset,
  size: 1,
  createdAt: T(min),
});
const A = "aaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbb";

function gen(g: string, snaps: [number, number][], segs: [number, number, number][]): GenerationListing {
  return {
    generation: g,
    snapshots: snaps.map(([i, m]) => snap(g, i, m)),
    segments: segs.map(([i, o, m]) => seg(g, i, o, m)),
  };
}

Deno.test("generation: newest data at or before the target; ties go to the later start", () => {
  const a = gen(A, [[0, 0]], [[0, 0, 1], [0, 4152, 30]]);
  const b = gen(B, [[0, 10]], [[0, 0, 11], [0, 4152, 20]]);
  assertEquals(chooseGeneration([a, b], {}, "r"), A);
  assertEquals(chooseGeneration([a, b], { timestamp: T(25) }, "r"), B);
  assertEquals(chooseGeneration([a, b], { timestamp: T(5) }, "r"), A);
  const c = gen(B, [[0, 10]], [[0, 0, 30]]);
  assertEquals(chooseGeneration([a, c], {}, "r"), B, "same newest time: the later-started generation");
  throws(() => chooseGeneration([], {}, "r"), NotFoundError);
  throws(() => chooseGeneration([a], { generation: B }, "r"), NotFoundError);
  throws(() => chooseGeneration([gen(A, [], [[0, 0, 1]])], {}, "r"), /no generation has a snapshot/);
});

Deno.test("plan: latest snapshot, segments from its index on, earlier indexes ignored", () => {
  const g = gen(A, [[0, 0], [2, 10]], [[0, 4152, 1], [1, 0, 5], [2, 0, 11], [2, 8272, 12], [3, 0, 13]]);
  const p = planRestore([g], {}, "r");
  assertEquals(p.snapshot.index, 2);
  assertEquals(p.segments.map((s) => [s.index, s.offset]), [[2, 0], [2, 8272], [3, 0]]);
  assertEquals(p.restoredUpTo, T(13));
  assertEquals(p.warnings, []);
});

Deno.test("plan: an empty snapshot (Litestream writes sftp snapshots in place) falls back to an older one", () => {
  const g = gen(A, [[0, 0], [2, 10]], [[0, 0, 1], [1, 0, 5], [2, 0, 11], [3, 0, 13]]);
  g.snapshots[1].size = 0;
  const p = planRestore([g], {}, "r");
  assertEquals(p.snapshot.index, 0);
  assertEquals(p.segments.map((s) => [s.index, s.offset]), [[0, 0], [1, 0], [2, 0], [3, 0]]);
  assertEquals(p.restoredUpTo, T(13));
  assert(p.warnings.some((w) => w.includes("skipped empty snapshot")), p.warnings.join("\n"));
  g.snapshots[0].size = 0;
  throws(() => planRestore([g], {}, "r"), NotFoundError);
});

Deno.test("plan: a missing index or a missing start is a BadInputError naming it and the way out", () => {
  const g = gen(A, [[0, 0]], [[0, 0, 1], [0, 4152, 2], [2, 0, 3]]);
  const e = (() => {
    try {
      planRestore([g], {}, "r");
    } catch (err) {
      return err as Error;
    }
    throw new Error("no error");
  })();
  assert(e instanceof BadInputError);
  assert(e.message.includes("WAL index 00000001 is missing entirely"), e.message);
  assert(e.message.includes(`--timestamp ${T(2).toISOString()}`), e.message);
  // With a timestamp before the gap the same replica restores.
  assertEquals(planRestore([g], { timestamp: T(2) }, "r").segments.length, 2);
  throws(() => planRestore([gen(A, [[0, 0]], [[0, 4152, 1]])], {}, "r"), /segment at offset 0/);
});

Deno.test("plan: a cut inside the snapshot's index falls back to an older snapshot, else warns", () => {
  const g = gen(A, [[0, 0], [1, 10]], [[0, 0, 1], [1, 0, 9], [1, 4152, 12]]);
  const p = planRestore([g], { timestamp: T(11) }, "r");
  assertEquals(p.snapshot.index, 0);
  assertEquals(p.segments.map((s) => [s.index, s.offset]), [[0, 0], [1, 0]]);
  const alone = gen(A, [[1, 10]], [[1, 0, 9], [1, 4152, 12]]);
  const q = planRestore([alone], { timestamp: T(11) }, "r");
  assertEquals(q.snapshot.index, 1);
  assertEquals(q.warnings.length, 1);
  throws(() => planRestore([g], { timestamp: T(-1) }, "r"), /no snapshot at or before/);
});

Deno.test("restore plan: segments are applied one WAL index at a time, in order", () => {
  const seg = (index: number, offset: number) => ({ index, offset }) as WalSegmentInfo;
  assertEquals(
    segmentsByIndex([seg(0, 0), seg(0, 4152), seg(1, 0), seg(3, 0), seg(3, 32)]).map((g) =>
      g.map((s) => `${s.index}:${s.offset}`)
    ),
    [["0:0", "0:4152"], ["1:0"], ["3:0", "3:32"]],
  );
});
