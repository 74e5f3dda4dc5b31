/** The progress line's text: sizes, rate, ETA, unknown totals, entries, and cutting to the width. */
import assert from "node:assert/strict";
import { formatBytes, formatDuration, formatProgress } from "../../lib/cli/progress_format.ts";

Deno.test("formatBytes and formatDuration", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(20 * 1024 ** 3), "20.0 GiB");
  assert.equal(formatDuration(7), "0:07");
  assert.equal(formatDuration(125), "2:05");
  assert.equal(formatDuration(3725), "1:02:05");
});

Deno.test("formatProgress: percent, amounts, rate, ETA; unknown total; entries; width", () => {
  const base = { label: "writing /x.tar.gz", unit: "bytes" as const, elapsedMs: 2000 };
  assert.equal(
    formatProgress({ ...base, value: 50 * 1024 ** 2, total: 200 * 1024 ** 2 }),
    "writing /x.tar.gz   25%  50.0 MiB/200.0 MiB  25.0 MiB/s  ETA 0:06",
  );
  assert.equal(formatProgress({ ...base, value: 3 * 1024 ** 2 }), "writing /x.tar.gz  3.0 MiB  1.5 MiB/s");
  assert.equal(
    formatProgress({ ...base, value: 200, total: 200 }),
    "writing /x.tar.gz  100%  200 B/200 B  100 B/s",
    "no ETA once done",
  );
  assert.equal(
    formatProgress({ label: "run", unit: "entries", value: 30, total: 120, elapsedMs: 10_000 }),
    "run   25%  30/120 entries  3/s  ETA 0:30",
  );
  assert.equal(
    formatProgress({ ...base, value: 0, total: 10, elapsedMs: 0 }),
    "writing /x.tar.gz    0%  0 B/10 B",
  );
  const cut = formatProgress(
    { ...base, label: "/very/long/path/to/archive.tar.gz", value: 5, total: 10 },
    40,
  );
  assert.equal(cut.length, 40);
  assert.equal(cut, "…r.gz   50%  5 B/10 B  2.5 B/s  ETA 0:02", "too narrow for the verb: the end only");
  const kept = formatProgress({
    ...base,
    label: "downloading s3://bucket/vigo/archives/a.tar.gz",
    value: 5,
    total: 10,
  }, 64);
  assert.equal(kept, "downloading …rchives/a.tar.gz   50%  5 B/10 B  2.5 B/s  ETA 0:02");
  assert.equal(kept.length, 64);
});
