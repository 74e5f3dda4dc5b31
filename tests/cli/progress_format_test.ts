/**
 * The progress line's text: sizes, rate, ETA, unknown totals, entries, and cutting to the terminal's
 * width in columns (wide characters count two).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatBytes, formatDuration, formatProgress } from "../../lib/cli/progress_format.ts";
import { displayWidth, endOfWidth } from "../../lib/cli/display_width.ts";
import { fuzzParams } from "../helpers/fuzz.ts";

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

Deno.test("displayWidth: wide and fullwidth take two columns, combining marks none", () => {
  assert.equal(displayWidth("vigo-backup.tar.gz"), 18);
  assert.equal(displayWidth("バックアップ"), 12, "katakana");
  assert.equal(displayWidth("备份目录"), 8, "CJK ideographs");
  assert.equal(displayWidth("백업"), 4, "Hangul syllables");
  assert.equal(displayWidth("ＡＢＣ"), 6, "fullwidth Latin");
  assert.equal(displayWidth("\u{20000}"), 2, "CJK Extension B, outside the BMP");
  assert.equal(displayWidth("\u{1F4BE}"), 2, "an emoji drawn as emoji");
  assert.equal(displayWidth("cafe\u0301"), 4, "e + combining acute accent");
  assert.equal(displayWidth("a\u200Db\uFE0F"), 2, "zero-width joiner, variation selector");
  assert.equal(displayWidth("…ü–é"), 4, "narrow non-ASCII");
  assert.equal(endOfWidth("备份目录", 5), "目录", "a wide character that does not fit is left out whole");
  assert.equal(endOfWidth("xe\u0301", 1), "e\u0301", "a combining mark goes with its character");
  assert.equal(endOfWidth("xe\u0301", 0), "", "and never without it");
});

Deno.test("formatProgress: a wide label is cut by columns, never past the terminal's width", () => {
  const st = { unit: "bytes" as const, value: 5, total: 10, elapsedMs: 2000 };
  const line = formatProgress({ ...st, label: "restoring /srv/バックアップ/備份目録/データベース.db" }, 60);
  assert.equal(line, "restoring …ータベース.db   50%  5 B/10 B  2.5 B/s  ETA 0:02");
  assert.equal(displayWidth(line), 59, "the label's next character is wide and does not fit in 60");
  const piece = fc.oneof(
    fc.constantFrom("備", "份", "ア", "한", "Ｗ", "\u{20000}", "\u{1F4BE}", "e\u0301", "/", " ", "a", "…"),
    fc.string({ unit: "grapheme", maxLength: 3 }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), fc.integer({ min: 20, max: 120 }), (parts, width) => {
      const out = formatProgress({ ...st, label: `writing ${parts.join("")}` }, width);
      assert.ok(displayWidth(out) <= width, `${displayWidth(out)} > ${width}: ${out}`);
    }),
    fuzzParams(500),
  );
});
