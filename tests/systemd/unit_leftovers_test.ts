/** Which names in a unit directory install-units takes for its own temporary files (unit_leftovers.ts). */
import assert from "node:assert/strict";
import { isUnitTempName } from "../../lib/systemd/unit_leftovers.ts";

const UNITS = ["vigocli-crate@.service", "vigocli-drill.timer"];

Deno.test("isUnitTempName: tempPathFor's names for our units, nothing else", () => {
  for (
    const n of [".vigocli-crate@.service.tmp-4711-0123456789ab", ".vigocli-drill.timer.tmp-1-abcdefabcdef"]
  ) {
    assert.equal(isUnitTempName(n, UNITS), true, n);
  }
  for (
    const n of [
      "vigocli-drill.timer",
      ".vigocli-drill.service.tmp-4711-0123456789ab", // not one of the units given
      ".other.service.tmp-4711-0123456789ab",
      ".vigocli-drill.timer.tmp-4711-0123456789AB", // upper-case hex: not ours
      ".vigocli-drill.timer.tmp-4711-0123456789ab.db",
      ".vigocli-drill.timer.tmp-0123456789ab", // no PID: never written by install-units
    ]
  ) {
    assert.equal(isUnitTempName(n, UNITS), false, n);
  }
});
