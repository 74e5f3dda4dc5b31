/**
 * Archives dated in the future (lib/archive/future_dated.ts) in the retention decision: one named after a
 * clock that ran ahead is neither counted among the newest nor deleted, so `--keep N` keeps the N newest
 * real archives. A table of cases, then properties over random sets of archives and policies.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { planRetention, type RetentionPolicy } from "../../lib/archive/archive_retention.ts";
import {
  FUTURE_ALLOWANCE_MS,
  futureDatedNote,
  futureMark,
  isDatedInFuture,
  newestNotDatedInFuture,
} from "../../lib/archive/future_dated.ts";

const now = new Date("2026-12-07T12:00:00Z");
const min = 60_000;
const day = 86_400_000;
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

Deno.test("isDatedInFuture: later than now plus the allowance, not at it", () => {
  assert.equal(FUTURE_ALLOWANCE_MS, 5 * min);
  const table: [number, boolean][] = [
    [-day, false],
    [0, false],
    [4 * min, false],
    [FUTURE_ALLOWANCE_MS, false],
    [FUTURE_ALLOWANCE_MS + 1000, true],
    [day, true],
    [5 * 365 * day, true],
  ];
  for (const [offset, future] of table) {
    assert.equal(isDatedInFuture(at(offset), now), future, `${offset} ms`);
  }
});

Deno.test("futureDatedNote: one line naming the archive, both times, the cause and what to do", () => {
  const note = futureDatedNote(
    "/srv/snaps/vigo-backup-2031-01-01T00:00:00Z.tar.gz",
    "2031-01-01T00:00:00Z",
    now,
  );
  assert.doesNotMatch(note, /\n/);
  for (const part of ["/srv/snaps/vigo-backup-2031", "2031-01-01T00:00:00Z", "now 2026-12-07T12:00:00Z"]) {
    assert.ok(note.includes(part), `${part} in ${note}`);
  }
  assert.match(note, /clock was ahead .* or is behind now/);
  assert.match(note, /remove it by hand/);
});

Deno.test("planRetention: an archive dated in the future is kept and not counted (table)", () => {
  const archives = [
    { name: "old-state-named-2031", time: at(4 * 365 * day) },
    { name: "skewed-2min", time: at(2 * min) },
    { name: "real-newest", time: at(-1 * day) },
    { name: "older", time: at(-5 * day) },
    { name: "oldest", time: at(-40 * day) },
  ];
  const cases: [RetentionPolicy, [string, "keep" | "delete", boolean][]][] = [
    [{ keep: 1, now }, [
      ["old-state-named-2031", "keep", true],
      // Within the allowance: a clock a little off is not a clock that ran ahead.
      ["skewed-2min", "keep", false],
      ["real-newest", "delete", false],
      ["older", "delete", false],
      ["oldest", "delete", false],
    ]],
    [{ keep: 2, now }, [
      ["old-state-named-2031", "keep", true],
      ["skewed-2min", "keep", false],
      ["real-newest", "keep", false],
      ["older", "delete", false],
      ["oldest", "delete", false],
    ]],
    [{ maxAgeMs: 30 * day, now }, [
      ["old-state-named-2031", "keep", true],
      ["skewed-2min", "keep", false],
      ["real-newest", "keep", false],
      ["older", "keep", false],
      ["oldest", "delete", false],
    ]],
  ];
  for (const [policy, want] of cases) {
    const got = planRetention(archives, policy).map((d) => [d.archive.name, d.action, d.datedInFuture]);
    assert.deepEqual(got, want, JSON.stringify(policy));
  }
  // The repro's case: the 2031 archive holds the old state; the real newest must stay.
  const two = planRetention([archives[0], archives[2]], { keep: 1, now });
  assert.deepEqual(two.map((d) => [d.archive.name, d.action, d.reason]), [
    ["old-state-named-2031", "keep", "dated in the future (not counted, not deleted)"],
    ["real-newest", "keep", "one of the 1 newest"],
  ]);
  // Only archives dated in the future, and a maximum age: none is deleted, none is the newest.
  const onlyFuture = planRetention([archives[0]], { maxAgeMs: day, now });
  assert.deepEqual(onlyFuture.map((d) => [d.action, d.datedInFuture]), [["keep", true]]);
});

Deno.test("planRetention: properties over random archives and policies", () => {
  const archive = fc.record({
    name: fc.string({ minLength: 1, maxLength: 6 }),
    offset: fc.integer({ min: -400 * day, max: 10 * 365 * day }),
  });
  const policy = fc.oneof(
    fc.record({ keep: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ maxAgeMs: fc.integer({ min: 1, max: 400 * day }) }),
  );
  fc.assert(
    fc.property(fc.array(archive, { maxLength: 12 }), policy, (raw, p) => {
      const archives = raw.map((a) => ({ name: a.name, time: at(a.offset) }));
      const plan = planRetention(archives, { ...p, now });
      const future = plan.filter((d) => isDatedInFuture(d.archive.time, now));
      const real = plan.filter((d) => !isDatedInFuture(d.archive.time, now));
      // Every archive dated in the future is kept and said to be; no other is.
      assert.ok(future.every((d) => d.action === "keep" && d.datedInFuture));
      assert.ok(real.every((d) => !d.datedInFuture));
      // The newest real archive is always kept.
      if (real.length > 0) assert.equal(real[0].action, "keep");
      // --keep N keeps exactly the N newest real archives, whatever is dated in the future.
      if ("keep" in p) {
        assert.deepEqual(real.map((d) => d.action), real.map((_, i) => i < p.keep ? "keep" : "delete"));
      }
      // The decision on real archives is the one made without the future-dated ones.
      const without = planRetention(archives.filter((a) => !isDatedInFuture(a.time, now)), { ...p, now });
      assert.deepEqual(
        real.map((d) => [d.archive.name, d.action]),
        without.map((d) => [d.archive.name, d.action]),
      );
    }),
  );
});

Deno.test("futureMark: list's note on the row of an archive dated in the future, nothing on others", () => {
  assert.equal(futureMark(at(day).toISOString(), now), "  (dated in the future)");
  assert.equal(futureMark(at(FUTURE_ALLOWANCE_MS).toISOString(), now), "");
  assert.equal(futureMark(at(-day).toISOString(), now), "");
});

Deno.test("newestNotDatedInFuture: the first of a newest-first listing not dated in the future", () => {
  const row = (name: string, offset: number) => ({ name, time: at(offset).toISOString() });
  const rows = [row("2031", 4 * 365 * day), row("tomorrow", day), row("skewed", 2 * min), row("real", -day)];
  assert.equal(newestNotDatedInFuture(rows, now)?.name, "skewed");
  assert.equal(newestNotDatedInFuture(rows.slice(0, 2), now), undefined);
  assert.equal(newestNotDatedInFuture([], now), undefined);
});
