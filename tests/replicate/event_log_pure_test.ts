/** The replicator's event lines (lib/replicate/event_log.ts). */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { formatEvent } from "../../lib/replicate/event_log.ts";

Deno.test("event log: one line, key=value, quoted when needed", () => {
  const line = formatEvent("INFO", "wal segment uploaded", { index: 1, path: "a b" }, new Date(0));
  assertEquals(
    line,
    'time=1970-01-01T00:00:00.000Z level=INFO msg="wal segment uploaded" index=1 path="a b"',
  );
  assert(!line.includes("\n"));
});
