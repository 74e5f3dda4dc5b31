import assert from "node:assert/strict";
import { DurationSyntaxError, formatDuration, parseDuration } from "../../lib/config/duration.ts";

Deno.test("parseDuration: the spec's defaults and Go examples", () => {
  assert.equal(parseDuration("720h"), 720 * 3_600_000);
  assert.equal(parseDuration("1s"), 1_000);
  assert.equal(parseDuration("24h"), 86_400_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("2h45m30.5s"), 2 * 3_600_000 + 45 * 60_000 + 30_500);
  assert.equal(parseDuration(".5s"), 500);
  assert.equal(parseDuration("5.s"), 5_000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("+0"), 0);
  assert.equal(parseDuration("-1m"), -60_000);
  assert.equal(parseDuration("1500us"), 1.5);
  assert.equal(parseDuration("1µs"), 0.001);
  assert.equal(parseDuration("1μs"), 0.001);
  assert.equal(parseDuration("1000000ns"), 1);
  assert.equal(parseDuration("1m1m"), 120_000);
});

Deno.test("parseDuration: rejects what Go rejects", () => {
  for (
    const bad of [
      "",
      "1",
      "10",
      "h",
      ".s",
      "1d",
      "1 h",
      " 1h",
      "1h ",
      "1H",
      "-",
      "1.2.3s",
      "1hh",
      "s1",
      "0x1s",
    ]
  ) {
    assert.throws(() => parseDuration(bad), DurationSyntaxError, `accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("parseDuration: the message names the text and the problem", () => {
  assert.throws(() => parseDuration("30d"), /invalid duration "30d": unknown unit "d"/);
  assert.throws(() => parseDuration("30"), /invalid duration "30": expected a number followed by a unit/);
});

Deno.test("formatDuration: Go's Duration.String() forms", () => {
  assert.equal(formatDuration(720 * 3_600_000), "720h0m0s");
  assert.equal(formatDuration(1_000), "1s");
  assert.equal(formatDuration(1_500), "1.5s");
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(5_400_000), "1h30m0s");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(0.5), "500µs");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(-2_000), "-2s");
});

Deno.test("formatDuration and parseDuration round-trip", () => {
  for (const ms of [1, 250, 1_000, 1_500, 61_000, 3_600_000, 5_400_000, 720 * 3_600_000, 86_399_999]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});
